import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/**
 * Moves `from` to `to`, merging directories that both have; a file present in both is refused
 * (`what` names the two places in the message). Renames only, so nothing is copied.
 */
export async function moveMerged(from: string, to: string, what: (relative: string) => string): Promise<void> {
  const move = async (source: string, target: string): Promise<void> => {
    const existing = await fs.lstat(target).catch(() => undefined);
    if (!existing) {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(source, target);
      return;
    }
    const stat = await fs.lstat(source);
    if (!existing.isDirectory() || !stat.isDirectory()) {
      throw new KernelBuildError(`${what(path.relative(from, source))} both exist`, 'pass the packages of one kernel, each once');
    }
    for (const name of await fs.readdir(source)) await move(path.join(source, name), path.join(target, name));
    await fs.rmdir(source);
  };
  await move(from, to);
}

export async function isDirectory(file: string): Promise<boolean> {
  return fs.lstat(file).then((stat) => stat.isDirectory(), () => false);
}
