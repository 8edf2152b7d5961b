import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ensurePristineTree } from './pristine-tree';
import { sha256File } from './sha256';
import { compressFile, HOSTILE_TARS, rawTar, tarDirectory, writeSourceTree } from './__fixtures__/tar-fixtures';
import { exists, listDir, useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(30_000);

describe('ensurePristineTree', () => {
  const temp = useTempDirs();
  let dir: string;
  let workRoot: string;

  beforeEach(async () => {
    dir = await temp.make();
    workRoot = path.join(dir, 'work');
  });

  async function sourceTarball(): Promise<{ tarball: string; sha256: string }> {
    await writeSourceTree(dir, 'linux-6.12.1');
    const tarball = await compressFile(await tarDirectory(dir, 'linux-6.12.1', 'linux-6.12.1'), 'xz');
    return { tarball, sha256: await sha256File(tarball) };
  }

  it('extracts into <workRoot>/src/<sha256> with the top directory stripped', async () => {
    const { tarball, sha256 } = await sourceTarball();
    const tree = await ensurePristineTree(tarball, sha256, workRoot);

    expect(tree).toBe(path.join(workRoot, 'src', sha256));
    expect((await listDir(tree)).sort()).toEqual(['Makefile', 'include', 'scripts']);
    expect(await fs.readFile(path.join(tree, 'Makefile'), 'utf8')).toBe('VERSION = 6\nPATCHLEVEL = 12\n');
    expect((await fs.stat(path.join(tree, 'scripts', 'setlocalversion'))).mode & 0o111).toBe(0o111);
    expect(await fs.readlink(path.join(tree, 'scripts', 'kernel.h'))).toBe('../include/linux/kernel.h');
    expect(await listDir(path.join(workRoot, 'src'))).toEqual([sha256]);
  });

  it('returns an existing tree at once, without reading the tarball', async () => {
    const { tarball, sha256 } = await sourceTarball();
    await ensurePristineTree(tarball, sha256, workRoot);
    await fs.rm(tarball);
    const lines: string[] = [];
    expect(await ensurePristineTree(tarball, sha256, workRoot, { log: (line) => lines.push(line) })).toBe(path.join(workRoot, 'src', sha256));
    expect(lines).toEqual([]);
  });

  it('extracts once for concurrent callers, who all get the same tree', async () => {
    const { tarball, sha256 } = await sourceTarball();
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);

    const trees = await Promise.all([1, 2, 3].map(() => ensurePristineTree(tarball, sha256, workRoot, { log })));
    expect(new Set(trees)).toEqual(new Set([path.join(workRoot, 'src', sha256)]));
    expect(lines.filter((line) => line.startsWith('extracting '))).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('reusing '))).toHaveLength(2);
  });

  it('removes a temp tree left by a crashed extraction, and never treats it as the tree', async () => {
    const { tarball, sha256 } = await sourceTarball();
    const stale = path.join(workRoot, 'src', `.tmp-${sha256}-crashed`);
    await fs.mkdir(path.join(stale, 'arch'), { recursive: true });

    const tree = await ensurePristineTree(tarball, sha256, workRoot);
    expect(await exists(stale)).toBe(false);
    expect(await exists(path.join(tree, 'Makefile'))).toBe(true);
  });

  it.each(Object.entries(HOSTILE_TARS))('refuses %s, naming the entry, with nothing written outside or at the final path', async (_name, { entries, refused }) => {
    const tar = path.join(dir, 'hostile.tar');
    await fs.writeFile(tar, rawTar(entries));
    const tarball = await compressFile(tar, 'xz');
    const sha256 = await sha256File(tarball);

    const failure = ensurePristineTree(tarball, sha256, workRoot);
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(`hostile.tar.xz: refused entry '${refused}'`);

    expect(await listDir(path.join(workRoot, 'src'))).toEqual([]);
    for (const escaped of [path.join(workRoot, 'evil'), path.join(workRoot, 'src', 'evil'), path.join(dir, 'outside'), path.join(workRoot, 'outside'), '/etc/evil']) {
      expect(await exists(escaped)).toBe(false);
    }
  });

  it('refuses a file that is not a tar', async () => {
    const notTar = path.join(dir, 'linux-6.12.1.tar.xz');
    await fs.writeFile(notTar, 'Error 503 Service Unavailable\n'.repeat(40));
    const sha256 = await sha256File(notTar);
    await expect(ensurePristineTree(notTar, sha256, workRoot)).rejects.toThrow(`${notTar}: not a valid tar archive`);
    expect(await listDir(path.join(workRoot, 'src'))).toEqual([]);
  });

  it('refuses a tarball whose content does not match the sha256 it is filed under', async () => {
    const { tarball } = await sourceTarball();
    const other = createHash('sha256').update('another release').digest('hex');
    await expect(ensurePristineTree(tarball, other, workRoot)).rejects.toThrow(`sha256 is ${await sha256File(tarball)}, expected ${other}`);
    expect(await listDir(path.join(workRoot, 'src'))).toEqual([]);
  });
});
