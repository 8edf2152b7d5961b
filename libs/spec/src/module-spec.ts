import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { parseValidatedYaml } from './validated-yaml';
import { findProjectFiles } from './kernel-spec';
import schema from './module-yaml.schema.json';

export const MODULES_DIR = 'modules';

export interface ModuleYaml {
  kernel: string;
  source?: string | { apt: string; dir: string };
  modules: string[];
  image?: boolean;
  test?: { expect?: string; timeoutSeconds?: number };
}

export interface ModuleProject {
  /** Nx project name: module-<dir>. */
  name: string;
  dir: string;
  root: string;
  file: string;
  /** kernels/<dir> of the kernel it is built for. */
  kernel: string;
  /** Workspace-relative source dir, or a directory inside a Debian package. */
  sourceDir: string;
  aptSource?: { apt: string; dir: string };
  modules: string[];
  /** Write a module image (kernel modules + these, depmod run); the test then modprobes them. */
  image: boolean;
  test: { expect?: string; timeoutSeconds: number };
}

export function parseModuleYaml(text: string, file: string): ModuleYaml {
  return parseValidatedYaml<ModuleYaml>(text, file, schema);
}

/** Reads modules/<dir>/module.yaml for every directory that has one; `kernelDirs` are the known kernels. */
export function loadModuleProjects(workspaceRoot: string, kernelDirs: string[]): ModuleProject[] {
  return findProjectFiles(workspaceRoot, MODULES_DIR, 'module.yaml').map(({ dir, root, file, text }) => {
    const yaml = parseModuleYaml(text, file);
    if (!kernelDirs.includes(yaml.kernel)) {
      throw new KernelBuildError(`${file}: kernel '${yaml.kernel}' is not a kernel project (no kernels/${yaml.kernel}/kernel.yaml)`, `use one of: ${kernelDirs.join(', ')}`);
    }
    const aptSource = typeof yaml.source === 'object' ? yaml.source : undefined;
    if (aptSource && (aptSource.dir.includes('..') || aptSource.dir.startsWith('/'))) {
      throw new KernelBuildError(`${file}: source.dir '${aptSource.dir}' must be a relative path inside the package`, 'e.g. usr/src/acpi-call-1.2.2');
    }
    const sourceDir = aptSource ? aptSource.dir : path.posix.normalize(path.posix.join(root, (yaml.source as string | undefined) ?? 'src'));
    if (!aptSource && (!sourceDir.startsWith(`${root}/`) || !fs.existsSync(path.join(workspaceRoot, sourceDir)))) {
      throw new KernelBuildError(`${file}: source directory ${sourceDir} does not exist inside ${root}`, 'point source at the directory with the Kbuild file');
    }
    return {
      name: `module-${dir}`,
      dir,
      root,
      file,
      kernel: yaml.kernel,
      sourceDir,
      aptSource,
      modules: yaml.modules,
      image: yaml.image ?? false,
      test: { expect: yaml.test?.expect, timeoutSeconds: yaml.test?.timeoutSeconds ?? 300 },
    };
  });
}
