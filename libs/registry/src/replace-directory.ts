import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';

/**
 * Builds a directory in a hidden sibling and renames it over `targetDir`, so a reader (or the
 * next run after a crash) sees the old directory or the complete new one, never a half-pulled
 * one. The sibling is on the same filesystem, which is what makes the rename atomic; the old
 * directory is moved aside first because rename cannot replace a non-empty directory.
 */
export async function replaceDirectory<T>(targetDir: string, build: (stagingDir: string) => Promise<T>): Promise<T> {
  const target = path.resolve(targetDir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const sibling = (kind: string) => path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const staging = sibling('pulling');
  await fs.mkdir(staging);
  try {
    const result = await build(staging);
    const retired = sibling('replaced');
    const hadPrevious = await fs.rename(target, retired).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    try {
      await fs.rename(staging, target);
    } catch (error) {
      if (hadPrevious) await fs.rename(retired, target);
      throw error;
    }
    if (hadPrevious) await fs.rm(retired, { recursive: true, force: true });
    return result;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
