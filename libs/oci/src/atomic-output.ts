import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import lockfile from 'proper-lockfile';
import { isOutOfSpace, outOfSpaceError } from '@linuxkit-kernels/errors';
import { isProcessAlive } from '@linuxkit-kernels/scratch';

/**
 * Outputs are built under a hidden sibling and renamed into place, so a reader (or the next run
 * after a crash) sees the old output or the new one, never a half-written one. A sibling stays on
 * the same filesystem, which is what makes rename atomic.
 */
type SiblingKind = 'partial' | 'replaced';

function siblingPath(target: string, kind: SiblingKind): string {
  const unique = `${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${unique}`);
}


/** Leftovers of runs that were killed mid-write; a kernel layout can weigh hundreds of MB. */
async function removeAbandonedSiblings(target: string): Promise<void> {
  const prefix = `.${path.basename(target)}.`;
  const pattern = /^(?:partial|replaced)-(\d+)-[0-9a-f]{8}$/;
  const names = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = pattern.exec(name.slice(prefix.length));
    if (!match || isProcessAlive(Number(match[1]))) continue;
    await fs.rm(path.join(path.dirname(target), name), { recursive: true, force: true });
  }
}

/** Runs `produce(tempFile)` and renames the temp file over `outFile` only if it succeeds. */
export async function writeFileViaTempSibling<T>(outFile: string, produce: (tempFile: string) => Promise<T>): Promise<T> {
  const target = path.resolve(outFile);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await removeAbandonedSiblings(target);
  const tempFile = siblingPath(target, 'partial');
  try {
    const result = await produce(tempFile);
    await fs.rename(tempFile, target);
    return result;
  } catch (error) {
    await fs.rm(tempFile, { force: true });
    if (isOutOfSpace(error)) throw outOfSpaceError(error, path.dirname(target), target);
    throw error;
  }
}

/**
 * Builds a directory in `build(stagingDir)` and swaps it in for `targetDir`. Linux cannot
 * atomically exchange two non-empty directories from Node, so the old one is first renamed
 * aside: a crash between the two renames leaves no `targetDir`, never a mixed one.
 */
export async function replaceDirectoryAtomically<T>(targetDir: string, build: (stagingDir: string) => Promise<T>): Promise<T> {
  const target = path.resolve(targetDir);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  await removeAbandonedSiblings(target);
  const stagingDir = siblingPath(target, 'partial');
  await fs.mkdir(stagingDir);
  let result: T;
  try {
    result = await build(stagingDir);
  } catch (error) {
    await fs.rm(stagingDir, { recursive: true, force: true });
    if (isOutOfSpace(error)) throw outOfSpaceError(error, parent, target);
    throw error;
  }

  // Two writers of the same layout must not interleave their renames.
  const release = await lockfile.lock(target, {
    realpath: false,
    lockfilePath: path.join(parent, `.${path.basename(target)}.lock`),
    retries: { retries: 100, minTimeout: 20, maxTimeout: 250 },
  });
  try {
    const retired = siblingPath(target, 'replaced');
    const hadPrevious = await fs.rename(target, retired).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    try {
      await fs.rename(stagingDir, target);
    } catch (error) {
      if (hadPrevious) await fs.rename(retired, target);
      throw error;
    }
    if (hadPrevious) await fs.rm(retired, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(stagingDir, { recursive: true, force: true });
    throw error;
  } finally {
    await release();
  }
  return result;
}
