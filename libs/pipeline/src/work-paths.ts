import * as path from 'path';
import { distPath, KernelProject } from '@linuxkit-kernels/spec';

/**
 * Where each step keeps its state. Work dirs (store, trees, build dirs) are large and never
 * cached by Nx; dist/ holds only the final artifacts that Nx caches.
 * KERNEL_WORK_DIR / KERNEL_STORE let several checkouts share one download and extraction.
 */
export interface WorkPaths {
  workRoot: string;
  store: string;
  tree: string;
  buildDir: string;
  stageDir: string;
  logDir: string;
  /** dist/kernels/<dir>/<arch> */
  distDir: string;
  config: string;
  artifacts: string;
  layout: string;
  imageRecord: string;
  bootLog: string;
}

export function workPaths(workspaceRoot: string, project: Pick<KernelProject, 'name' | 'dir'>, arch: string, env: NodeJS.ProcessEnv = process.env): WorkPaths {
  const workRoot = path.resolve(workspaceRoot, env.KERNEL_WORK_DIR || '.kbuild');
  const distDir = path.join(workspaceRoot, distPath(project, arch));
  return {
    workRoot,
    store: path.resolve(workspaceRoot, env.KERNEL_STORE || path.join(workRoot, 'store')),
    tree: path.join(workRoot, 'trees', project.name),
    buildDir: path.join(workRoot, 'build', project.name, arch),
    stageDir: path.join(workRoot, 'stage', project.name, arch),
    logDir: path.join(workRoot, 'logs', project.name, arch),
    distDir,
    config: path.join(distDir, 'config'),
    artifacts: path.join(distDir, 'artifacts'),
    layout: path.join(distDir, 'oci'),
    imageRecord: path.join(distDir, 'image.json'),
    bootLog: path.join(distDir, 'boot.log'),
  };
}
