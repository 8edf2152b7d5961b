import { findProjectFiles } from './kernel-spec';
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
  return findProjectFiles(workspaceRoot, DISTRO_DIR, 'distro.yaml').map(({ dir, root, file, text }) => {
    const yaml = parseValidatedYaml<DistroYaml>(text, file, schema);
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
