import * as lockfile from 'proper-lockfile';
import { KernelBuildError } from '@linuxkit-kernels/errors';

export interface TreeLock {
  /** Throws when another process took the lock over (it thought ours stale): the tree may be mixed. */
  assertHeld(): void;
}

// The holder refreshes the lock every STALE/2; a busy machine (a kernel build beside us) must not
// make a live lock look stale, so this is generous. A crashed holder costs at most this long.
const STALE_MS = 30_000;
// Applying a long series (Preempt-RT: hundreds of patches) onto a fresh tree takes minutes.
const WAIT = { retries: 3600, factor: 1.2, minTimeout: 50, maxTimeout: 1000 };

/** Runs `work` holding `<treeDir>.lock`; a second run for the same tree waits for the first. */
export async function withTreeLock<T>(treeDir: string, log: (line: string) => void, work: (lock: TreeLock) => Promise<T>): Promise<T> {
  let lost: Error | undefined;
  const options: lockfile.LockOptions = {
    realpath: false,
    lockfilePath: `${treeDir}.lock`,
    stale: STALE_MS,
    onCompromised: (error) => {
      lost = error;
      log(`lost the lock on ${treeDir}: ${error.message}`);
    },
  };
  const release = await lockfile.lock(treeDir, options).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ELOCKED') throw error;
    log(`waiting for another run that is preparing ${treeDir}`);
    return lockfile.lock(treeDir, { ...options, retries: WAIT }).catch((waitError: NodeJS.ErrnoException) => {
      if (waitError.code !== 'ELOCKED') throw waitError;
      throw new KernelBuildError(`gave up waiting for the lock on ${treeDir} (${treeDir}.lock)`, `If no other build is running, delete ${treeDir}.lock.`);
    });
  });
  const lock: TreeLock = {
    assertHeld() {
      if (lost) {
        throw new KernelBuildError(
          `another run took over the lock on ${treeDir} while this one was changing it`,
          'Run the build again (one at a time per project); the tree will be recreated.',
          lost.message,
        );
      }
    },
  };
  try {
    return await work(lock);
  } finally {
    await release().catch(() => undefined);
  }
}
