import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { loadKernelProjects } from '@linuxkit-kernels/spec';

export interface PruneReport {
  removed: string[];
  freedBytes: number;
  keptBytes: number;
}

async function diskUsage(target: string): Promise<number> {
  if (!fs.existsSync(target)) return 0;
  const { stdout } = await execa('du', ['-sb', target], { reject: false });
  return Number.parseInt(stdout.split('\t')[0], 10) || 0;
}

function entries(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/**
 * The clean target: removes what no kernel project of this workspace references any more — store
 * blobs and extractions of old tarballs, trees and build dirs of deleted projects — and every
 * scratch dir. Work that projects still use stays, so the next build is as fast as before.
 */
export async function pruneWorkDir(workspaceRoot: string, options: { dryRun?: boolean; log: (line: string) => void; env?: NodeJS.ProcessEnv }): Promise<PruneReport> {
  const env = options.env ?? process.env;
  const workRoot = path.resolve(workspaceRoot, env.KERNEL_WORK_DIR || '.kbuild');
  const store = path.resolve(workspaceRoot, env.KERNEL_STORE || path.join(workRoot, 'store'));
  const projects = loadKernelProjects(workspaceRoot);
  const shas = new Set(projects.flatMap((project) => [project.source.sha256, ...project.patchSets.map((set) => set.sha256)]));
  const names = new Set(projects.map((project) => project.name));
  const candidates = [
    ...entries(path.join(store, 'sha256')).filter((sha) => !shas.has(sha)).map((sha) => path.join(store, 'sha256', sha)),
    ...entries(path.join(workRoot, 'src')).filter((sha) => !shas.has(sha) && !sha.startsWith('.')).map((sha) => path.join(workRoot, 'src', sha)),
    ...entries(path.join(workRoot, 'trees')).filter((name) => !names.has(name.replace(/\.(build\.)?lock$|\.build$/, ''))).map((name) => path.join(workRoot, 'trees', name)),
    ...entries(path.join(workRoot, 'build')).filter((name) => !names.has(name)).map((name) => path.join(workRoot, 'build', name)),
    ...['boot', 'stage', 'modules', 'pulled', 'perf-src', 'edit'].map((dir) => path.join(workRoot, dir)).filter((dir) => fs.existsSync(dir)),
  ];
  let freedBytes = 0;
  for (const candidate of candidates) {
    const bytes = await diskUsage(candidate);
    freedBytes += bytes;
    options.log(`${options.dryRun ? 'would remove' : 'removing'} ${path.relative(workspaceRoot, candidate) || candidate} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
    if (!options.dryRun) fs.rmSync(candidate, { recursive: true, force: true });
  }
  const keptBytes = (await diskUsage(workRoot)) + (store.startsWith(workRoot) ? 0 : await diskUsage(store));
  options.log(`${options.dryRun ? 'would free' : 'freed'} ${(freedBytes / 2 ** 30).toFixed(2)} GiB; ${workRoot} now holds ${(keptBytes / 2 ** 30).toFixed(2)} GiB`);
  return { removed: candidates, freedBytes, keptBytes };
}
