import { createHash } from 'crypto';
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { pipeline } from 'stream/promises';
import { promisify } from 'util';
import zlib from 'zlib';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { writeFileViaTempSibling } from './atomic-output';
import { Sha256Digest } from './digest';

export interface ParallelGzipOptions {
  /** zlib level 0–9; default 6. Output is reproducible only for a fixed level and zlib version. */
  level?: number;
  /** Uncompressed bytes per gzip member; default 4 MiB. */
  chunkBytes?: number;
}

export interface GzipResult {
  /** sha256 of the compressed bytes: the OCI layer digest. */
  digest: Sha256Digest;
  /** Compressed size in bytes. */
  size: number;
  /** sha256 of the uncompressed bytes: the OCI diff_id. */
  diffId: Sha256Digest;
}

const DEFAULT_LEVEL = 6;
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
// zlib's output buffer per threadpool step; larger than the 16 KiB default to cut round trips.
const ZLIB_OUTPUT_CHUNK = 256 * 1024;

const gzipMember = promisify(zlib.gzip) as (input: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

function checkedOptions(options: ParallelGzipOptions): Required<ParallelGzipOptions> {
  const level = options.level ?? DEFAULT_LEVEL;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new KernelBuildError(`gzip level ${level} is not an integer from 0 to 9`);
  }
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
    throw new KernelBuildError(`gzip chunkBytes ${chunkBytes} is not a positive integer`);
  }
  return { level, chunkBytes };
}

/**
 * Regroups a byte stream into buffers of exactly `chunkBytes` (the last may be shorter), so the
 * member boundaries, and therefore the output bytes, do not depend on how the source was read.
 */
export async function* fixedSizeChunks(source: AsyncIterable<Uint8Array>, chunkBytes: number): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const copied = Math.min(piece.length - offset, chunkBytes - filled);
      chunk.set(piece.subarray(offset, offset + copied), filled);
      filled += copied;
      offset += copied;
      if (filled === chunkBytes) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk.subarray(0, filled);
}

async function writeFully(file: fs.FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Gzips a byte stream into `outFile` as a series of independent gzip members, one per
 * `chunkBytes` of input, compressed concurrently on libuv's threadpool and written in order.
 * Concatenated members are one valid gzip stream (RFC 1952 §2.2) that `gzip -d`, Go's
 * compress/gzip (registries, skopeo, containerd) and Node's gunzip all read as the whole input.
 * At most 2 × cores chunks are in flight, so memory stays bounded whatever the input size.
 * Headers carry no name and mtime 0: the same input and level give the same bytes.
 */
export async function gzipStreamParallel(
  source: AsyncIterable<Uint8Array>,
  outFile: string,
  options: ParallelGzipOptions = {},
): Promise<GzipResult> {
  const { level, chunkBytes } = checkedOptions(options);
  const maxChunksInFlight = 2 * os.availableParallelism();
  const zlibOptions: zlib.ZlibOptions = { level, chunkSize: ZLIB_OUTPUT_CHUNK };
  const uncompressedHash = createHash('sha256');
  const compressedHash = createHash('sha256');
  const inFlight: Promise<Buffer>[] = [];
  let size = 0;
  let chunkCount = 0;

  const output = await fs.open(outFile, 'w');
  const writeOldestMember = async (): Promise<void> => {
    const member = await inFlight.shift()!;
    compressedHash.update(member);
    size += member.length;
    await writeFully(output, member);
  };
  const startMember = (chunk: Buffer): void => {
    const member = gzipMember(chunk, zlibOptions);
    // Awaited in order later; this only keeps a failure from being reported as unhandled meanwhile.
    member.catch(() => undefined);
    inFlight.push(member);
  };

  try {
    for await (const chunk of fixedSizeChunks(source, chunkBytes)) {
      uncompressedHash.update(chunk);
      startMember(chunk);
      chunkCount += 1;
      if (inFlight.length >= maxChunksInFlight) await writeOldestMember();
    }
    // An empty input still needs one member to be a gzip file at all.
    if (chunkCount === 0) startMember(Buffer.alloc(0));
    while (inFlight.length > 0) await writeOldestMember();
  } finally {
    await output.close();
  }
  return {
    digest: `sha256:${compressedHash.digest('hex')}`,
    size,
    diffId: `sha256:${uncompressedHash.digest('hex')}`,
  };
}

/** {@link gzipStreamParallel} over a file; `output` appears only once it is complete. */
export async function gzipFileParallel(input: string, output: string, options: ParallelGzipOptions = {}): Promise<GzipResult> {
  checkedOptions(options); // before anything is created on disk
  // Opened before the output: a missing input rejects here. A stream left to open the file itself
  // would emit its ENOENT while the output is being created, with no listener yet, and crash.
  const source = (await fs.open(input, 'r')).createReadStream(); // closes the handle when done
  try {
    return await writeFileViaTempSibling(output, (tempFile) => gzipStreamParallel(source, tempFile, options));
  } finally {
    source.destroy();
  }
}

export interface GzipBenchmark {
  inputSize: number;
  parallel: { milliseconds: number; size: number };
  singleStream: { milliseconds: number; size: number };
}

/**
 * Times {@link gzipFileParallel} against one zlib stream at the same level over the same file,
 * for a benchmark script to print; the outputs go to a temp dir that is removed afterwards.
 */
export async function benchmarkGzipFile(input: string, options: ParallelGzipOptions = {}): Promise<GzipBenchmark> {
  const { level } = checkedOptions(options);
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gzip-benchmark-'));
  try {
    const parallelStart = process.hrtime.bigint();
    const parallel = await gzipFileParallel(input, path.join(workDir, 'parallel.gz'), options);
    const parallelMilliseconds = Number(process.hrtime.bigint() - parallelStart) / 1e6;

    const singleStreamFile = path.join(workDir, 'single-stream.gz');
    const singleStreamStart = process.hrtime.bigint();
    await pipeline(createReadStream(input), zlib.createGzip({ level }), createWriteStream(singleStreamFile));
    const singleStreamMilliseconds = Number(process.hrtime.bigint() - singleStreamStart) / 1e6;

    return {
      inputSize: (await fs.stat(input)).size,
      parallel: { milliseconds: parallelMilliseconds, size: parallel.size },
      singleStream: { milliseconds: singleStreamMilliseconds, size: (await fs.stat(singleStreamFile)).size },
    };
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
}
