import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { Parser, ReadEntry } from 'tar';
import { encodeTarHeader, LayerTarEntry, normaliseImagePath, planLayerTar, streamLayerTar } from './layer-tar';
import { itWithTools, makeTempDir } from './test-support/sample-files';

const CREATED = 1700000000;
const sizeOfNothing = () => 0;

async function writeStream(source: AsyncIterable<Buffer>, file: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  await fs.writeFile(file, Buffer.concat(chunks));
}

function parseEntries(tarBytes: Buffer): Promise<Pick<ReadEntry, 'path' | 'type' | 'size' | 'mode'>[]> {
  return new Promise((resolve, reject) => {
    const entries: Pick<ReadEntry, 'path' | 'type' | 'size' | 'mode'>[] = [];
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        entries.push({ path: entry.path, type: entry.type, size: entry.size, mode: entry.mode });
        entry.resume();
      },
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(entries));
    parser.end(tarBytes);
  });
}

describe('normaliseImagePath', () => {
  it('takes paths relative to the image root, with or without a leading slash', () => {
    expect(normaliseImagePath('kernel')).toBe('kernel');
    expect(normaliseImagePath('/usr//bin/./perf')).toBe('usr/bin/perf');
  });

  it('refuses paths that leave the image or name no file', () => {
    for (const bad of ['', '/', '.', '../kernel', 'usr/../../x', 'usr/bin/']) {
      expect(() => normaliseImagePath(bad)).toThrow(/does not name a file inside the image/);
    }
  });
});

describe('planLayerTar', () => {
  it('sorts members by name, adds parent directories, and defaults files to 0644', () => {
    const plan = planLayerTar(
      [
        { path: 'usr/bin/perf', source: '/b/perf', mode: 0o755 },
        { path: 'kernel', source: '/b/bzImage' },
        { path: 'System.map', source: '/b/System.map' },
      ],
      CREATED,
      (source) => source.length,
    );
    expect(plan).toEqual([
      { type: 'File', path: 'System.map', mode: 0o644, mtime: CREATED, size: 13, source: '/b/System.map' },
      { type: 'File', path: 'kernel', mode: 0o644, mtime: CREATED, size: 10, source: '/b/bzImage' },
      { type: 'Directory', path: 'usr', mode: 0o755, mtime: CREATED },
      { type: 'Directory', path: 'usr/bin', mode: 0o755, mtime: CREATED },
      { type: 'File', path: 'usr/bin/perf', mode: 0o755, mtime: CREATED, size: 7, source: '/b/perf' },
    ]);
  });

  it('does not depend on the order the files are listed in', () => {
    const files = [
      { path: 'kernel.tar', source: '/a' },
      { path: 'kernel', source: '/b' },
      { path: 'kernel-dev.tar', source: '/c' },
    ];
    expect(planLayerTar([...files].reverse(), CREATED, sizeOfNothing)).toEqual(planLayerTar(files, CREATED, sizeOfNothing));
  });

  it('refuses a path listed twice, or used both as a file and a directory', () => {
    expect(() => planLayerTar([{ path: 'kernel', source: '/a' }, { path: '/kernel', source: '/b' }], CREATED, sizeOfNothing)).toThrow(
      /'kernel' is listed twice/,
    );
    expect(() => planLayerTar([{ path: 'usr/bin', source: '/a' }, { path: 'usr/bin/perf', source: '/b' }], CREATED, sizeOfNothing)).toThrow(
      /'usr\/bin' is also the directory of 'usr\/bin\/perf'/,
    );
  });

  it('refuses a mode that is not permission bits', () => {
    expect(() => planLayerTar([{ path: 'kernel', source: '/a', mode: 0o100644 }], CREATED, sizeOfNothing)).toThrow(/is not a permission mode/);
  });
});

describe('encodeTarHeader', () => {
  it('writes one ustar block for an ordinary member', () => {
    const block = encodeTarHeader({ type: 'File', path: 'kernel', mode: 0o644, mtime: CREATED, size: 5, source: '/x' });
    expect(block.length).toBe(512);
    expect(block.subarray(257, 263).toString('latin1')).toBe('ustar\0');
  });

  it('adds a pax header for a file of 8 GiB or more, which ustar cannot size', async () => {
    const size = 9 * 1024 ** 3;
    const entry: LayerTarEntry = { type: 'File', path: 'vmlinux', mode: 0o644, mtime: CREATED, size, source: '/x' };
    const header = encodeTarHeader(entry);
    expect(header.length).toBeGreaterThan(512);
    // Parse only the header: a parser given no body still reports the entry's size.
    const parsed = await new Promise<number>((resolve, reject) => {
      const parser = new Parser({
        onReadEntry: (read) => {
          resolve(read.size);
          read.resume();
        },
      });
      parser.on('error', reject);
      parser.write(header);
    });
    expect(parsed).toBe(size);
  });
});

describe('streamLayerTar', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('layer-tar');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  itWithTools(['tar'])('produces a tar GNU tar lists with the planned names, modes, owner, size and mtime', async () => {
    await fs.writeFile(path.join(dir, 'bzImage'), 'kernel bytes');
    await fs.writeFile(path.join(dir, 'perf'), '');
    const plan = planLayerTar(
      [
        { path: 'kernel', source: path.join(dir, 'bzImage') },
        { path: 'usr/bin/perf', source: path.join(dir, 'perf'), mode: 0o755 },
      ],
      CREATED,
      (source) => (source.endsWith('bzImage') ? 12 : 0),
    );
    const tarFile = path.join(dir, 'layer.tar');
    await writeStream(streamLayerTar(plan), tarFile);
    const { stdout } = await execa('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', `--file=${tarFile}`], {
      env: { LC_ALL: 'C', TZ: 'UTC' },
    });
    expect(stdout.split('\n').map((line) => line.replace(/\s+/g, ' '))).toEqual([
      '-rw-r--r-- 0/0 12 2023-11-14 22:13:20 kernel',
      'drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/',
      'drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/bin/',
      '-rwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/bin/perf',
    ]);
    const { stdout: content } = await execa('tar', ['--extract', '--to-stdout', `--file=${tarFile}`, 'kernel']);
    expect(content).toBe('kernel bytes');
    expect((await parseEntries(await fs.readFile(tarFile))).map((entry) => entry.path)).toEqual(['kernel', 'usr/', 'usr/bin/', 'usr/bin/perf']);
  });

  it('fails rather than write a corrupt tar when a source shrank after it was planned', async () => {
    await fs.writeFile(path.join(dir, 'System.map'), 'short');
    const plan = planLayerTar([{ path: 'System.map', source: path.join(dir, 'System.map') }], CREATED, () => 100);
    await expect(writeStream(streamLayerTar(plan), path.join(dir, 'layer.tar'))).rejects.toThrow(
      /System\.map changed size from 100 to 5 bytes while it was packaged as 'System\.map'/,
    );
  });

  it('fails rather than pack a torn file when a source grew after it was planned', async () => {
    await fs.writeFile(path.join(dir, 'System.map'), 'longer than planned');
    const plan = planLayerTar([{ path: 'System.map', source: path.join(dir, 'System.map') }], CREATED, () => 6);
    await expect(writeStream(streamLayerTar(plan), path.join(dir, 'layer.tar'))).rejects.toThrow(/changed size from 6 to 19 bytes/);
  });
});
