import * as path from 'path';
import * as fs from 'fs';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import type { PatchSetSpec, SourceSpec } from '@linuxkit-kernels/source';
import schema from './kernel-yaml.schema.json';
import { parseValidatedYaml } from './validated-yaml';

export type Arch = 'x86_64' | 'aarch64' | 'riscv64';
export const ARCHES: readonly Arch[] = ['x86_64', 'aarch64', 'riscv64'];

/** kernel.yaml as written, after schema validation. */
export interface KernelYaml {
  version?: string;
  source?: SourceSpec;
  extends?: string;
  suffix?: string;
  localversion?: string;
  arches?: Arch[];
  config?: 'own' | 'inherit';
  fragments?: string[];
  patchSets?: PatchSetSpec[];
  debug?: boolean;
  test?: { modules?: string[]; commands?: string[]; timeoutSeconds?: number };
}

/** A series or variant with everything inherited resolved; paths are workspace-relative. */
export interface KernelProject {
  /** Nx project name: kernel-<dir>. */
  name: string;
  /** Directory name under kernels/, e.g. 6.12-dbg. */
  dir: string;
  root: string;
  file: string;
  /** Own directory first, then each base up to the series. */
  chain: string[];
  base?: string;
  version: string;
  source: SourceSpec;
  arches: Arch[];
  localversion: string;
  /** '' for a series, e.g. '-dbg' for a variant; part of every tag. */
  tagSuffix: string;
  /** Directory holding the full config-<arch> files this project starts from. */
  configRoot: string;
  /** True when the project's own full config must come out of olddefconfig unchanged. */
  fixedPoint: boolean;
  /** Fragments in the order they are appended: the base's first. */
  fragments: string[];
  /** Patch directories in apply order: the variant's own first, then its base's. */
  patchDirs: string[];
  /** Patch sets from outside the repository (own first, then the base's), applied before patchDirs. */
  patchSets: PatchSetSpec[];
  debug: boolean;
  test: { modules: string[]; commands: string[]; timeoutSeconds: number };
}

export const DEFAULT_ARCHES: readonly Arch[] = ['x86_64', 'aarch64'];
export const KERNELS_DIR = 'kernels';
/** Directories under kernels/ that hold shared inputs, not a series. */
export const SHARED_DIRS = ['common'];

/** Parses and validates one kernel.yaml; errors name the file, the line and the field. */
export function parseKernelYaml(text: string, file: string): KernelYaml {
  return parseValidatedYaml<KernelYaml>(text, file, schema);
}

export interface KernelYamlFile {
  dir: string;
  file: string;
  yaml: KernelYaml;
}

/** Resolves every kernel.yaml against its bases: inheritance, missing bases and cycles. Pure. */
export function resolveKernelProjects(files: KernelYamlFile[], configExists: (file: string) => boolean): KernelProject[] {
  const byDir = new Map(files.map((entry) => [entry.dir, entry]));
  const resolved = new Map<string, KernelProject>();

  const resolve = (dir: string, visiting: string[]): KernelProject => {
    const done = resolved.get(dir);
    if (done) return done;
    const entry = byDir.get(dir);
    if (!entry) throw new Error(`internal: ${dir} not loaded`);
    if (visiting.includes(dir)) {
      const cycle = [...visiting.slice(visiting.indexOf(dir)), dir].join(' -> ');
      throw new KernelBuildError(`${entry.file}: 'extends' forms a cycle: ${cycle}`, 'make one of them a series with its own source instead of extends');
    }
    const { yaml, file } = entry;
    const root = `${KERNELS_DIR}/${dir}`;
    const project = yaml.extends === undefined ? resolveSeries(entry, root) : resolveVariant(entry, root, () => {
      const baseDir = yaml.extends as string;
      if (!byDir.has(baseDir)) {
        const known = [...byDir.keys()].sort().join(', ');
        throw new KernelBuildError(`${file}: extends '${baseDir}', but there is no ${KERNELS_DIR}/${baseDir}/kernel.yaml`, `extend one of: ${known}`);
      }
      return resolve(baseDir, [...visiting, dir]);
    });
    for (const arch of project.arches) {
      const config = `${project.configRoot}/config-${arch}`;
      if (!configExists(config)) {
        throw new KernelBuildError(
          `${file}: arch ${arch} has no full config ${config}`,
          `add ${config} (e.g. with nx run ${project.name}:sync-config --arch=${arch}), or drop ${arch} from arches`,
        );
      }
    }
    for (const fragment of project.fragments) {
      if (!configExists(fragment)) throw new KernelBuildError(`${file}: fragment ${fragment} does not exist`, 'fix the path in fragments (relative to kernel.yaml)');
    }
    resolved.set(dir, project);
    return project;
  };

  return files.map((entry) => resolve(entry.dir, []));
}

function testSettings(yaml: KernelYaml, inherited?: KernelProject['test']): KernelProject['test'] {
  return {
    modules: yaml.test?.modules ?? inherited?.modules ?? [],
    commands: yaml.test?.commands ?? inherited?.commands ?? [],
    timeoutSeconds: yaml.test?.timeoutSeconds ?? inherited?.timeoutSeconds ?? 300,
  };
}

function fragmentPaths(entry: KernelYamlFile, root: string): string[] {
  return (entry.yaml.fragments ?? []).map((fragment) => {
    const normalized = path.posix.normalize(path.posix.join(root, fragment));
    if (!normalized.startsWith(`${KERNELS_DIR}/`)) {
      throw new KernelBuildError(`${entry.file}: fragment '${fragment}' points outside ${KERNELS_DIR}/`, `keep fragments in ${KERNELS_DIR}/ (shared ones in ${KERNELS_DIR}/common/)`);
    }
    return normalized;
  });
}

function resolveSeries(entry: KernelYamlFile, root: string): KernelProject {
  const { yaml, file, dir } = entry;
  for (const field of ['version', 'source'] as const) {
    if (yaml[field] === undefined) throw new KernelBuildError(`${file}: a series needs '${field}'`, `add '${field}', or add 'extends: <series>' to make this a variant`);
  }
  for (const field of ['suffix', 'config'] as const) {
    if (yaml[field] !== undefined) throw new KernelBuildError(`${file}: '${field}' is only for variants (with 'extends')`, `remove '${field}'`);
  }
  const fragments = fragmentPaths(entry, root);
  return {
    name: `kernel-${dir}`,
    dir,
    root,
    file,
    chain: [dir],
    version: yaml.version as string,
    source: yaml.source as SourceSpec,
    arches: yaml.arches ?? [...DEFAULT_ARCHES],
    localversion: yaml.localversion ?? '-linuxkit',
    tagSuffix: '',
    configRoot: root,
    fixedPoint: fragments.length === 0,
    fragments,
    patchDirs: [`${root}/patches`],
    patchSets: yaml.patchSets ?? [],
    debug: yaml.debug ?? false,
    test: testSettings(yaml),
  };
}

function resolveVariant(entry: KernelYamlFile, root: string, loadBase: () => KernelProject): KernelProject {
  const { yaml, file, dir } = entry;
  for (const field of ['version', 'source'] as const) {
    if (yaml[field] !== undefined) throw new KernelBuildError(`${file}: a variant inherits '${field}' from ${yaml.extends}`, `remove '${field}', or remove 'extends' to make this a series`);
  }
  const base = loadBase();
  const suffix = yaml.suffix ?? derivedSuffix(dir, base.dir);
  if (!suffix) {
    throw new KernelBuildError(`${file}: cannot derive the tag suffix: '${dir}' does not start with '${base.dir}-'`, `add 'suffix: -<name>' to ${file}`);
  }
  const ownConfig = (yaml.config ?? 'inherit') === 'own';
  const fragments = fragmentPaths(entry, root);
  const unknownArches = (yaml.arches ?? []).filter((arch) => !base.arches.includes(arch));
  if (unknownArches.length > 0 && !ownConfig) {
    throw new KernelBuildError(`${file}: arches ${unknownArches.join(', ')} are not built by ${base.name}`, `use a subset of ${base.arches.join(', ')}, or add 'config: own' with its own config files`);
  }
  return {
    name: `kernel-${dir}`,
    dir,
    root,
    file,
    chain: [dir, ...base.chain],
    base: base.dir,
    version: base.version,
    source: base.source,
    arches: yaml.arches ?? base.arches,
    localversion: yaml.localversion ?? `${base.localversion}${suffix}`,
    tagSuffix: `${base.tagSuffix}${suffix}`,
    configRoot: ownConfig ? root : base.configRoot,
    fixedPoint: ownConfig && fragments.length === 0,
    fragments: ownConfig ? fragments : [...base.fragments, ...fragments],
    patchDirs: [`${root}/patches`, ...base.patchDirs],
    patchSets: [...(yaml.patchSets ?? []), ...base.patchSets],
    debug: yaml.debug ?? base.debug,
    test: testSettings(yaml, base.test),
  };
}

function derivedSuffix(dir: string, baseDir: string): string | undefined {
  return dir.startsWith(`${baseDir}-`) && dir.length > baseDir.length + 1 ? dir.slice(baseDir.length) : undefined;
}

const SAFE_DIR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Directory names become project names, tags and paths in commands: keep them to plain characters. */
export function assertSafeDirName(parent: string, dir: string): void {
  if (!SAFE_DIR_NAME.test(dir)) {
    throw new KernelBuildError(`${parent}/${dir}: directory name has characters other than letters, digits, '.', '_' and '-'`, `rename it, e.g. ${parent}/${dir.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '')}`);
  }
}

/** parent/<dir>/<fileName> for every directory that has one, sorted, with safe names: the project files of one kind. */
export function findProjectFiles(workspaceRoot: string, parent: string, fileName: string, skip: readonly string[] = []): { dir: string; root: string; file: string; text: string }[] {
  const parentDir = path.join(workspaceRoot, parent);
  if (!fs.existsSync(parentDir)) return [];
  return fs
    .readdirSync(parentDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !skip.includes(entry.name) && fs.existsSync(path.join(parentDir, entry.name, fileName)))
    .map((entry) => entry.name)
    .sort()
    .map((dir) => {
      assertSafeDirName(parent, dir);
      const root = `${parent}/${dir}`;
      const file = `${root}/${fileName}`;
      return { dir, root, file, text: fs.readFileSync(path.join(workspaceRoot, file), 'utf8') };
    });
}

/** Reads kernels/<dir>/kernel.yaml for every directory that has one. */
export function loadKernelProjects(workspaceRoot: string): KernelProject[] {
  const files = findProjectFiles(workspaceRoot, KERNELS_DIR, 'kernel.yaml', SHARED_DIRS).map(({ dir, file, text }) => ({ dir, file, yaml: parseKernelYaml(text, file) }));
  return resolveKernelProjects(files, (file) => fs.existsSync(path.join(workspaceRoot, file)));
}

/** The tags an image is pushed under: <ver><suffix> and <ver><suffix>-<hash>. */
export function imageTags(project: Pick<KernelProject, 'version' | 'tagSuffix'>, inputHash: string): { plain: string; hashed: string } {
  const plain = `${project.version}${project.tagSuffix}`;
  return { plain, hashed: `${plain}-${inputHash}` };
}

/** Workspace-relative dist dir of one project and arch; `arch` may be an Nx placeholder like {options.arch}. */
export function distPath(project: Pick<KernelProject, 'dir'>, arch: string): string {
  return `dist/kernels/${project.dir}/${arch}`;
}
