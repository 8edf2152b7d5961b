import { createHash } from 'crypto';
import { once } from 'events';
import { promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';
import lockfile from 'proper-lockfile';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { openTarByteStream } from './compression';
import { normalizeSha256 } from './sha256';
import { TarStreamValidator, tarRefusalError } from './tar-safety';

async function isDirectory(target: string): Promise<boolean> {
  return (await fs.stat(target).catch(() => undefined))?.isDirectory() ?? false;
}

function tempPrefix(sha256: string): string {
  return `.tmp-${sha256}-`;
}

/** Holding the lock for this tarball, every temp dir of it is a crashed run's leftover. */
async function removeStaleTemps(srcRoot: string, sha256: string): Promise<void> {
  for (const name of await fs.readdir(srcRoot)) {
    if (name.startsWith(tempPrefix(sha256))) await fs.rm(path.join(srcRoot, name), { recursive: true, force: true });
  }
}

function lockTree(treePath: string, log: (line: string) => void): Promise<() => Promise<void>> {
  return lockfile.lock(treePath, {
    realpath: false,
    lockfilePath: `${treePath}.lock`,
    // A 6.12 extraction takes tens of seconds on a busy machine; waiters poll up to ~15 minutes.
    stale: 30_000,
    retries: { retries: 1000, factor: 1.3, minTimeout: 50, maxTimeout: 1000 },
    // Losing the lock is survivable: the final rename refuses to replace a finished tree.
    onCompromised: (error) => log(`lock on ${treePath} lost (${error.message}); continuing`),
  });
}

/**
 * Decompresses once and streams the tar both to the validator and to `tar -x`, handing tar only
 * bytes the validator has accepted; also checks the tarball's sha256 in the same read.
 */
async function extractValidated(tarballPath: string, sha256: string, destination: string): Promise<number> {
  const hash = createHash('sha256');
  const source = await openTarByteStream(tarballPath, { onFileChunk: (chunk) => hash.update(chunk) });
  const validator = new TarStreamValidator({ stripComponents: 1 });
  const tar = execa('tar', ['-x', '-f', '-', '-C', destination, '--strip-components=1', '--no-same-owner', '--warning=no-timestamp'], {
    buffer: false,
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'pipe',
  });
  let stderr = '';
  tar.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  tar.stdin?.on('error', () => undefined); // EPIPE when tar stops early; its exit status tells why
  let tarExited = false;
  const tarResult = tar.then(
    () => undefined,
    (error: execa.ExecaError) => error,
  ).finally(() => (tarExited = true));

  try {
    for await (const chunk of source.tar) {
      if (!validator.write(chunk as Buffer) || tarExited) break;
      if (!tar.stdin!.write(chunk)) await Promise.race([once(tar.stdin!, 'drain'), tarResult]);
    }
    if (validator.refusal) throw tarRefusalError(tarballPath, validator.refusal);
    await source.finished;
    const refusal = await validator.end();
    if (refusal) throw tarRefusalError(tarballPath, refusal);
    tar.stdin!.end();
    const tarError = await tarResult;
    if (tarError) {
      throw new KernelBuildError(`${tarballPath}: tar could not extract it (exit ${tarError.exitCode})`, 'check free space under the work directory, then run again', stderr.trim());
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      throw new KernelBuildError(`${tarballPath}: sha256 is ${actual}, expected ${sha256}`, 'the stored tarball changed; delete it from the store and fetch it again');
    }
    return validator.entries;
  } catch (error) {
    tar.kill('SIGKILL');
    await tarResult;
    throw error;
  } finally {
    source.stop();
  }
}

/**
 * One shared extraction per tarball: `<workRoot>/src/<sha256>/` holds the tree with its top
 * directory stripped. Entries are validated as they stream past; the tree is built in a temp dir
 * and renamed into place, so the final path holds a whole tree or nothing. Concurrent callers for
 * one tarball wait for a single extraction (a lock file) and reuse it.
 */
export async function ensurePristineTree(tarballPath: string, sha256: string, workRoot: string, options: { log?: (line: string) => void } = {}): Promise<string> {
  const log = options.log ?? (() => undefined);
  const hex = normalizeSha256(sha256);
  const srcRoot = path.join(path.resolve(workRoot), 'src');
  const treePath = path.join(srcRoot, hex);
  if (await isDirectory(treePath)) return treePath;

  await fs.mkdir(srcRoot, { recursive: true });
  const release = await lockTree(treePath, log);
  try {
    if (await isDirectory(treePath)) {
      log(`reusing ${treePath}, extracted meanwhile`);
      return treePath;
    }
    await removeStaleTemps(srcRoot, hex);
    const temp = await fs.mkdtemp(path.join(srcRoot, tempPrefix(hex)));
    try {
      log(`extracting ${tarballPath} into ${treePath}`);
      const started = Date.now();
      const entries = await extractValidated(tarballPath, hex, temp);
      await fs.rename(temp, treePath);
      log(`extracted ${entries} entries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      const lostRace = (error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST';
      if (!(lostRace && (await isDirectory(treePath)))) throw error;
    }
    return treePath;
  } finally {
    await release().catch(() => undefined);
  }
}
