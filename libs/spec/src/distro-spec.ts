import * as fs from 'fs';
import * as path from 'path';
import { assertSafeDirName } from './kernel-spec';
import { parseValidatedYaml } from './validated-yaml';
import schema from './distro-yaml.schema.json';

export const DISTRO_DIR = 'distro';

export interface DistroProject {
  /** Nx project name: distro-<dir>. */
  name: string;
  dir: string;
  root: string;
  file: string;
  arch: 'x86_64' | 'aarch64';
  /** name=version for apt-get download. */
  packages: string[];
  test: { modules: string[]; timeoutSeconds: number };
}

interface DistroYaml {
  arch: 'x86_64' | 'aarch64';
  packages: string[];
  test?: { modules?: string[]; timeoutSeconds?: number };
}

/** Reads distro/<dir>/distro.yaml for every directory that has one. */
export function loadDistroProjects(workspaceRoot: string): DistroProject[] {
  const distroDir = path.join(workspaceRoot, DISTRO_DIR);
  if (!fs.existsSync(distroDir)) return [];
  return fs
    .readdirSync(distroDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(distroDir, entry.name, 'distro.yaml')))
    .map((entry) => entry.name)
    .sort()
    .map((dir) => {
      assertSafeDirName(DISTRO_DIR, dir);
      const root = `${DISTRO_DIR}/${dir}`;
      const file = `${root}/distro.yaml`;
      const yaml = parseValidatedYaml<DistroYaml>(fs.readFileSync(path.join(workspaceRoot, file), 'utf8'), file, schema);
      return {
        name: `distro-${dir}`,
        dir,
        root,
        file,
        arch: yaml.arch,
        packages: yaml.packages,
        test: { modules: yaml.test?.modules ?? [], timeoutSeconds: yaml.test?.timeoutSeconds ?? 300 },
      };
    });
}
