import * as path from 'path';
import { logger, Tree } from '@nx/devkit';
import execa from 'execa';
import { parseDocument } from 'yaml';
import { findAptBump, findKernelOrgBump } from '@linuxkit-kernels/source';
import { KernelProject, loadKernelProjects } from '@linuxkit-kernels/spec';

interface Options {
  releasesUrl?: string;
  projects?: string;
  syncConfig?: boolean;
}

const KEYRING = 'kernels/common/kernel.org-keyring.asc';

function updateKernelYaml(tree: Tree, project: KernelProject, changes: Record<string, string>): void {
  // The yaml Document keeps comments and layout; only the changed scalars move.
  const document = parseDocument(tree.read(project.file, 'utf8') ?? '');
  for (const [key, value] of Object.entries(changes)) document.setIn(key.split('.'), value);
  tree.write(project.file, document.toString());
}

/** nx g @linuxkit-kernels/nx-plugin:bump-versions [--dry-run]: newest point release per series, then sync-config. */
export default async function bumpVersionsGenerator(tree: Tree, options: Options) {
  const wanted = options.projects?.split(',').map((name) => name.trim()).filter(Boolean);
  const series = loadKernelProjects(tree.root).filter((project) => !project.base && (!wanted || wanted.includes(project.name) || wanted.includes(project.dir)));
  const bumped: KernelProject[] = [];
  for (const project of series) {
    const source = project.source;
    if (source.kind === 'kernel.org') {
      const bump = await findKernelOrgBump({ releasesUrl: options.releasesUrl ?? 'https://www.kernel.org/releases.json', current: project.version, keyringPath: path.join(tree.root, KEYRING) });
      if (!bump) continue;
      logger.info(`${project.name}: ${project.version} -> ${bump.version} (${bump.url}, sha256 ${bump.sha256.slice(0, 12)}… from the signed sha256sums.asc)`);
      updateKernelYaml(tree, project, { version: bump.version, 'source.url': bump.url, 'source.sha256': bump.sha256 });
    } else {
      const bump = await findAptBump({ package: source.package, currentPackageVersion: source.version, file: source.file });
      if (!bump) continue;
      logger.info(`${project.name}: ${project.version} -> ${bump.version} (${source.package} ${source.version} -> ${bump.packageVersion})`);
      updateKernelYaml(tree, project, { version: bump.version, 'source.version': bump.packageVersion, 'source.sha256': bump.sha256 });
    }
    bumped.push(project);
  }
  if (bumped.length === 0) logger.info('every series is at its newest point release');
  if (options.syncConfig === false || bumped.length === 0) return undefined;
  return async () => {
    for (const project of bumped) {
      for (const arch of project.arches) {
        await execa('npx', ['nx', 'run', `${project.name}:sync-config`, `--arch=${arch}`], { cwd: tree.root, stdio: 'inherit' });
      }
    }
  };
}
