import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { normalizeSha256 } from './sha256';
import { isProcessAlive } from '@linuxkit-kernels/scratch';

/** Verified files by content: `<root>/sha256/<hex>`; writes in progress live in `<root>/tmp`. */
export interface ContentStore {
  root: string;
}

export function openStore(root: string): ContentStore {
  return { root: path.resolve(root) };
}

export function blobPath(store: ContentStore, sha256: string): string {
  return path.join(store.root, 'sha256', normalizeSha256(sha256));
}

export async function hasBlob(store: ContentStore, sha256: string): Promise<boolean> {
  const stat = await fs.stat(blobPath(store, sha256)).catch(() => undefined);
  return stat?.isFile() ?? false;
}

function storeTempDir(store: ContentStore): string {
  return path.join(store.root, 'tmp');
}


/** A killed download leaves a partial file of up to a few hundred MB; its name carries the writer's pid. */
async function removeAbandonedTemps(store: ContentStore): Promise<void> {
  const dir = storeTempDir(store);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const pid = /^(\d+)-/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !isProcessAlive(Number(pid))) {
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/** A fresh path under `<root>/tmp` (same filesystem as the blobs, so the final rename is atomic). */
export async function newStoreTempPath(store: ContentStore, label: string): Promise<string> {
  await fs.mkdir(storeTempDir(store), { recursive: true });
  await removeAbandonedTemps(store);
  return path.join(storeTempDir(store), `${process.pid}-${randomBytes(4).toString('hex')}-${label}`);
}

export interface VerifiedWrite {
  /** Names the source in errors: a file, a URL, a package member. */
  culprit: string;
  /** What to do when the digest does not match. */
  mismatchFix: string;
  onBytes?: (bytes: number) => void;
}

/**
 * Writes chunks to a new temp file while hashing them; returns the temp path only when the digest
 * matches. On any failure the temp file is gone.
 */
export async function writeVerifiedTemp(
  store: ContentStore,
  chunks: AsyncIterable<Uint8Array>,
  sha256: string,
  write: VerifiedWrite,
): Promise<string> {
  const expected = normalizeSha256(sha256, write.culprit);
  const temp = await newStoreTempPath(store, `${expected.slice(0, 12)}.partial`);
  const handle = await fs.open(temp, 'wx', 0o644);
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of chunks) {
      hash.update(chunk);
      await handle.write(chunk);
      bytes += chunk.length;
      write.onBytes?.(bytes);
    }
    // Durable before it can be renamed into place: a power cut must not leave an empty blob.
    await handle.sync();
    await handle.close();
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new KernelBuildError(`${write.culprit}: sha256 mismatch: expected ${expected}, got ${actual}`, write.mismatchFix);
    }
    return temp;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Moves a verified temp file to its blob path. Blobs are read-only: nothing should edit them in place. */
export async function commitToStore(store: ContentStore, tempPath: string, sha256: string): Promise<string> {
  const finalPath = blobPath(store, sha256);
  await fs.mkdir(path.dirname(finalPath), { recursive: true });
  await fs.chmod(tempPath, 0o444);
  await fs.rename(tempPath, finalPath);
  return finalPath;
}

export async function discardTemp(tempPath: string): Promise<void> {
  await fs.rm(tempPath, { recursive: true, force: true });
}

/**
 * Copies a local file into the store, verifying sha256 while copying; atomic (temp + rename).
 * A mismatch throws naming the file, expected and actual digests, and leaves nothing in the store.
 */
export async function addFileToStore(store: ContentStore, file: string, sha256: string): Promise<string> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat || stat.isDirectory()) {
    throw new KernelBuildError(`${file}: ${stat ? 'is a directory' : 'no such file'}`, 'check the path of the file to add');
  }
  // Opened first: a stream opening the file itself could fail while the temp is being created,
  // before anyone listens, and crash the process instead of rejecting.
  const source = (await fs.open(file, 'r')).createReadStream();
  try {
    const temp = await writeVerifiedTemp(store, source, sha256, {
      culprit: file,
      mismatchFix: `if ${path.basename(file)} is the file you want, put its sha256 (\`sha256sum ${file}\`) in kernel.yaml`,
    });
    return await commitToStore(store, temp, sha256);
  } finally {
    source.destroy();
  }
}

