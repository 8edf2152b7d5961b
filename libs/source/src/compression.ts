import { createReadStream, promises as fs } from 'fs';
import { PassThrough, Readable } from 'stream';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';

export type Compression = 'xz' | 'gzip' | 'zstd' | 'bzip2' | 'none';

const MAGIC: Array<[Exclude<Compression, 'none'>, number[]]> = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

/** By content, not by name: a mirror that renames or a store blob (named by digest) still decompresses. */
export function detectCompression(head: Uint8Array): Compression {
  const match = MAGIC.find(([, magic]) => magic.every((byte, i) => head[i] === byte));
  return match ? match[0] : 'none';
}

const DECOMPRESSOR: Record<Exclude<Compression, 'none'>, [string, string[]]> = {
  xz: ['xz', ['-dc', '-T0']],
  gzip: ['gzip', ['-dc']],
  zstd: ['zstd', ['-dcq']],
  bzip2: ['bzip2', ['-dc']],
};

export interface TarByteStream {
  compression: Compression;
  /** The uncompressed tar. */
  tar: Readable;
  /** Settles once the file was read and the decompressor exited; rejects naming the file when it could not decompress. */
  finished: Promise<void>;
  /** Stops reading and kills the decompressor (after a verdict, or on abort). */
  stop(): void;
}

async function readHead(file: string): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r').catch(() => {
    throw new KernelBuildError(`${file}: cannot open the tarball`, 'check that the file exists and is readable');
  });
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n');
}

/**
 * Streams the uncompressed tar out of `file`, decompressing with the xz/gzip/zstd/bzip2 CLI
 * (xz with all cores). `onFileChunk` sees every byte of the file as read, so a caller can hash the
 * tarball in the same pass.
 */
export async function openTarByteStream(file: string, options: { onFileChunk?: (chunk: Buffer) => void } = {}): Promise<TarByteStream> {
  const compression = detectCompression(await readHead(file));
  const input = createReadStream(file);
  const onFileChunk = options.onFileChunk;
  if (onFileChunk) input.on('data', (chunk) => onFileChunk(chunk as Buffer));
  const readFailed = new Promise<never>((_, reject) =>
    input.once('error', (error) => reject(new KernelBuildError(`${file}: read failed: ${error.message}`, 'check the file and the disk'))),
  );
  readFailed.catch(() => undefined);

  if (compression === 'none') {
    const tar = new PassThrough({ highWaterMark: 1 << 20 });
    input.on('error', (error) => tar.destroy(error));
    input.pipe(tar);
    const finished = Promise.race([new Promise<void>((resolve) => input.once('close', () => resolve())), readFailed]);
    return { compression, tar, finished, stop: () => input.destroy() };
  }

  const [command, args] = DECOMPRESSOR[compression];
  const child = execa(command, args, { buffer: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  // The decompressor may exit early (corrupt data, or stop()); its stdin then reports EPIPE, which is no news.
  child.stdin?.on('error', () => undefined);
  // Without this a failed read would leave the decompressor waiting for input, and readers waiting for it.
  input.once('error', () => child.kill('SIGKILL'));
  input.pipe(child.stdin!);
  let stopped = false;
  const exited = child.then(
    () => undefined,
    (error: execa.ExecaError) => {
      if (stopped) return;
      if ((error as { code?: string }).code === 'ENOENT') {
        throw new KernelBuildError(`${file}: is ${compression}-compressed but \`${command}\` is not installed`, `install ${command} (apt-get install ${command === 'xz' ? 'xz-utils' : command})`);
      }
      throw new KernelBuildError(`${file}: ${command} could not decompress it (exit ${error.exitCode}): ${tail(stderr) || error.shortMessage}`, 'the file is corrupt or truncated; delete it and fetch it again');
    },
  );
  const finished = Promise.race([exited, readFailed]);
  // A caller that already refused the tar may never await this; its rejection is not news then.
  finished.catch(() => undefined);
  return {
    compression,
    tar: child.stdout!,
    finished,
    stop: () => {
      stopped = true;
      input.destroy();
      child.kill('SIGKILL');
    },
  };
}
