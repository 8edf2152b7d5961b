import { createHash } from 'crypto';
import execa from 'execa';
import { promises as fs, statSync } from 'fs';
import os from 'os';
import path from 'path';
import zlib from 'zlib';
import { benchmarkGzipFile, fixedSizeChunks, gzipFileParallel, gzipStreamParallel } from './parallel-gzip';
import { itWithTools, makeTempDir, sampleBytes } from './test-support/sample-files';

const CHUNK = 64 * 1024;
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function* inPieces(bytes: Buffer, pieceBytes: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += pieceBytes) yield bytes.subarray(offset, offset + pieceBytes);
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return chunks;
}

describe('fixedSizeChunks', () => {
  it('regroups any read pattern into the same fixed-size chunks', async () => {
    const bytes = sampleBytes(10_000);
    const fromSmallReads = await collect(fixedSizeChunks(inPieces(bytes, 7), 4096));
    const fromLargeReads = await collect(fixedSizeChunks(inPieces(bytes, 9000), 4096));
    expect(fromSmallReads.map((chunk) => chunk.length)).toEqual([4096, 4096, 1808]);
    expect(fromLargeReads.map((chunk, i) => chunk.equals(fromSmallReads[i]))).toEqual([true, true, true]);
    expect(Buffer.concat(fromSmallReads).equals(bytes)).toBe(true);
  });

  it('yields nothing for an empty stream', async () => {
    expect(await collect(fixedSizeChunks(inPieces(Buffer.alloc(0), 1), 4096))).toEqual([]);
  });
});

describe('gzipFileParallel', () => {
  let dir: string;
  let input: string;
  const inputBytes = sampleBytes(10 * CHUNK + 1234, 7);
  beforeAll(async () => {
    dir = await makeTempDir('gzip');
    input = path.join(dir, 'input');
    await fs.writeFile(input, inputBytes);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes independent gzip members that decompress, together, to the input', async () => {
    const output = path.join(dir, 'members.gz');
    const result = await gzipFileParallel(input, output, { chunkBytes: CHUNK });
    const compressed = await fs.readFile(output);
    // Buffers are compared with equals(): jest's deep equality walks them byte by byte.
    expect(zlib.gunzipSync(compressed).equals(inputBytes)).toBe(true);
    // One member per chunk: each starts with the gzip magic, deflate, no flags, mtime 0.
    const memberHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    let members = 0;
    for (let at = compressed.indexOf(memberHeader); at >= 0; at = compressed.indexOf(memberHeader, at + 1)) members += 1;
    expect(members).toBeGreaterThanOrEqual(11);
    expect(result).toEqual({ digest: sha256(compressed), size: compressed.length, diffId: sha256(inputBytes) });
  });

  itWithTools(['gzip'])('is one valid gzip stream to gzip -t and gunzip -c', async () => {
    const output = path.join(dir, 'for-gzip.gz');
    await gzipFileParallel(input, output, { chunkBytes: CHUNK });
    await execa('gzip', ['-t', output]);
    const { stdout } = await execa('gzip', ['-d', '-c', output], { encoding: null });
    expect((stdout as unknown as Buffer).equals(inputBytes)).toBe(true);
  });

  it('gives the same bytes for the same input and level', async () => {
    const first = await gzipFileParallel(input, path.join(dir, 'first.gz'), { chunkBytes: CHUNK, level: 6 });
    const second = await gzipFileParallel(input, path.join(dir, 'second.gz'), { chunkBytes: CHUNK, level: 6 });
    expect(second).toEqual(first);
    expect((await fs.readFile(path.join(dir, 'second.gz'))).equals(await fs.readFile(path.join(dir, 'first.gz')))).toBe(true);
  });

  it('compresses an empty file to one empty member, which is still a gzip file', async () => {
    const empty = path.join(dir, 'empty');
    await fs.writeFile(empty, '');
    const result = await gzipFileParallel(empty, path.join(dir, 'empty.gz'));
    expect(zlib.gunzipSync(await fs.readFile(path.join(dir, 'empty.gz'))).length).toBe(0);
    expect(result.diffId).toBe(sha256(Buffer.alloc(0)));
  });

  it('leaves no output when the input cannot be read', async () => {
    await expect(gzipFileParallel(path.join(dir, 'missing'), path.join(dir, 'missing.gz'))).rejects.toThrow(/ENOENT/);
    expect(await fs.readdir(dir)).not.toContainEqual(expect.stringMatching(/missing\.gz/));
  });

  it('rejects, never crashes, for a missing input whose output dir must be created first', async () => {
    // Creating the dir gives a stream that opens the file itself time to emit ENOENT unheard
    // (an uncaught exception in about one try of three before the input was opened first).
    for (let attempt = 0; attempt < 50; attempt++) {
      await expect(gzipFileParallel(path.join(dir, 'missing'), path.join(dir, `new-${attempt}`, 'out.gz'))).rejects.toThrow(/ENOENT/);
    }
    expect(await fs.readdir(dir)).not.toContainEqual(expect.stringMatching(/^new-/)); // not even the dir
  });

  it('refuses a level outside 0–9 and a chunk size below one byte', async () => {
    await expect(gzipFileParallel(input, path.join(dir, 'x.gz'), { level: 10 })).rejects.toThrow(/gzip level 10/);
    await expect(gzipFileParallel(input, path.join(dir, 'x.gz'), { chunkBytes: 0 })).rejects.toThrow(/chunkBytes 0/);
  });

  it('reports both timings for a benchmark to compare, leaving nothing behind', async () => {
    const benchmark = await benchmarkGzipFile(input, { chunkBytes: CHUNK });
    expect(benchmark.inputSize).toBe(inputBytes.length);
    expect(benchmark.parallel.milliseconds).toBeGreaterThan(0);
    expect(benchmark.singleStream.milliseconds).toBeGreaterThan(0);
    // Independent members cost a little ratio, not much.
    expect(benchmark.parallel.size).toBeLessThan(benchmark.singleStream.size * 1.05);
  });
});

describe('gzipStreamParallel', () => {
  it('never reads more than 2 × cores chunks ahead of what it has written', async () => {
    const dir = await makeTempDir('gzip-bound');
    const output = path.join(dir, 'out.gz');
    const chunkBytes = 32 * 1024;
    const totalBytes = 64 * chunkBytes;
    let maxAhead = 0;
    // Level 0 stores the data, so the output's size tracks how much input was written out.
    async function* watchedSource(): AsyncGenerator<Buffer> {
      const piece = sampleBytes(chunkBytes / 4, 3);
      for (let consumed = 0; consumed < totalBytes; consumed += piece.length) {
        const written = statSync(output, { throwIfNoEntry: false })?.size ?? 0;
        maxAhead = Math.max(maxAhead, consumed - written);
        yield piece;
      }
    }
    try {
      const result = await gzipStreamParallel(watchedSource(), output, { level: 0, chunkBytes });
      expect(zlib.gunzipSync(await fs.readFile(output)).length).toBe(totalBytes);
      expect(result.size).toBeGreaterThan(totalBytes);
      // The chunks in flight plus the one being filled.
      expect(maxAhead).toBeLessThanOrEqual((2 * os.availableParallelism() + 1) * chunkBytes);
      expect(maxAhead).toBeLessThan(totalBytes / 4);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('fails when its source fails, so a broken tar never becomes a layer', async () => {
    const dir = await makeTempDir('gzip-fail');
    async function* failingSource(): AsyncGenerator<Buffer> {
      yield Buffer.from('start');
      throw new Error('source went away');
    }
    try {
      await expect(gzipStreamParallel(failingSource(), path.join(dir, 'out.gz'))).rejects.toThrow('source went away');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
