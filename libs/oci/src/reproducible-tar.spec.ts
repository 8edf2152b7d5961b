import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { reproducibleTarArgs, writeReproducibleTar } from './reproducible-tar';
import { itWithTools, makeTempDir } from './test-support/sample-files';

const MTIME = 1700000000;
const itWithGnuTar = itWithTools(['tar']);

/** `tar -tv` with numeric ids: mode, owner, size, date and name of each member. */
async function listing(tarFile: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', `--file=${tarFile}`], {
    env: { LC_ALL: 'C', TZ: 'UTC' },
  });
  return stdout.split('\n');
}

async function makeTree(root: string): Promise<void> {
  await fs.mkdir(path.join(root, 'include', 'linux'), { recursive: true });
  await fs.writeFile(path.join(root, 'Makefile'), 'all:\n');
  await fs.writeFile(path.join(root, 'include', 'linux', 'module.h'), '#define X 1\n');
  await fs.writeFile(path.join(root, 'scripts.o'), 'object');
  await fs.symlink('../Makefile', path.join(root, 'include', 'Makefile'));
  await fs.symlink('/lib/modules/6.12.1-linuxkit/build', path.join(root, 'build'));
}

describe('reproducibleTarArgs', () => {
  it('asks GNU tar for sorted names, owner 0, clamped mtimes and pid-free pax headers', () => {
    expect(reproducibleTarArgs({ cwd: '/tree', outFile: '/out.tar', mtime: MTIME }, '/tmp.tar')).toEqual([
      '--create',
      '--file=/tmp.tar',
      '--directory=/tree',
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@1700000000',
      '--clamp-mtime',
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--',
      '.',
    ]);
  });

  it('puts every member under a prefix without touching symlink targets', () => {
    const args = reproducibleTarArgs(
      { cwd: '/tree', outFile: '/o', mtime: 0, prefix: 'usr/src/linux-headers-6.12.1-linuxkit', exclude: ['*.o'], paths: ['include'] },
      '/t',
    );
    expect(args.slice(11)).toEqual([
      '--transform=s,^\\(\\.\\(/\\|$\\)\\)\\?,usr/src/linux-headers-6.12.1-linuxkit/,S',
      '--exclude=*.o',
      '--',
      'include',
    ]);
  });

  it('refuses a prefix that would break out of the archive or the sed expression', () => {
    for (const prefix of ['/abs/', '../up/', 'a,b/', 'a&b/']) {
      expect(() => reproducibleTarArgs({ cwd: '/t', outFile: '/o', mtime: 0, prefix }, '/x')).toThrow(/tar prefix/);
    }
  });

  it('refuses a fractional or negative mtime', () => {
    expect(() => reproducibleTarArgs({ cwd: '/t', outFile: '/o', mtime: 1.5 }, '/x')).toThrow(/unix seconds/);
  });
});

describe('writeReproducibleTar', () => {
  let dir: string;
  let tree: string;
  beforeEach(async () => {
    dir = await makeTempDir('tar');
    tree = path.join(dir, 'tree');
    await makeTree(tree);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  itWithGnuTar('gives byte-identical tars of the same tree, even after its files are touched past mtime', async () => {
    const first = path.join(dir, 'first.tar');
    const second = path.join(dir, 'second.tar');
    await writeReproducibleTar({ cwd: tree, outFile: first, mtime: MTIME });
    const later = new Date((MTIME + 86400) * 1000);
    for (const file of ['Makefile', 'include/linux/module.h', 'include', '.']) await fs.utimes(path.join(tree, file), later, later);
    await fs.lutimes(path.join(tree, 'build'), later, later);
    await writeReproducibleTar({ cwd: tree, outFile: second, mtime: MTIME });
    expect(Buffer.compare(await fs.readFile(first), await fs.readFile(second))).toBe(0);
  });

  itWithGnuTar('changes when a file in the tree changes', async () => {
    const first = path.join(dir, 'first.tar');
    const second = path.join(dir, 'second.tar');
    await writeReproducibleTar({ cwd: tree, outFile: first, mtime: MTIME });
    await fs.writeFile(path.join(tree, 'Makefile'), 'all: vmlinux\n');
    await writeReproducibleTar({ cwd: tree, outFile: second, mtime: MTIME });
    expect(Buffer.compare(await fs.readFile(first), await fs.readFile(second))).not.toBe(0);
  });

  itWithGnuTar('stores sorted names, owner 0/0, the clamped mtime and symlinks as symlinks', async () => {
    const outFile = path.join(dir, 'out.tar');
    const result = await writeReproducibleTar({ cwd: tree, outFile, mtime: MTIME });
    expect(result).toEqual({ outFile, size: (await fs.stat(outFile)).size });
    const lines = await listing(outFile);
    expect(lines.map((line) => line.replace(/\s+/g, ' ').split(' ').slice(5).join(' '))).toEqual([
      './',
      './Makefile',
      './build -> /lib/modules/6.12.1-linuxkit/build',
      './include/',
      './include/Makefile -> ../Makefile',
      './include/linux/',
      './include/linux/module.h',
      './scripts.o',
    ]);
    for (const line of lines) expect(line).toMatch(/^\S+ 0\/0 +\d+ 2023-11-14 22:13:20 /);
  });

  itWithGnuTar('puts members under the prefix, excludes patterns, and leaves symlink targets as they were', async () => {
    const outFile = path.join(dir, 'dev.tar');
    await writeReproducibleTar({
      cwd: tree,
      outFile,
      mtime: MTIME,
      prefix: 'usr/src/linux-headers-6.12.1-linuxkit/',
      exclude: ['*.o'],
    });
    const names = (await listing(outFile)).map((line) => line.replace(/\s+/g, ' ').split(' ').slice(5).join(' '));
    expect(names).toEqual([
      'usr/src/linux-headers-6.12.1-linuxkit/',
      'usr/src/linux-headers-6.12.1-linuxkit/Makefile',
      'usr/src/linux-headers-6.12.1-linuxkit/build -> /lib/modules/6.12.1-linuxkit/build',
      'usr/src/linux-headers-6.12.1-linuxkit/include/',
      'usr/src/linux-headers-6.12.1-linuxkit/include/Makefile -> ../Makefile',
      'usr/src/linux-headers-6.12.1-linuxkit/include/linux/',
      'usr/src/linux-headers-6.12.1-linuxkit/include/linux/module.h',
    ]);
  });

  itWithGnuTar('archives only the paths asked for', async () => {
    const outFile = path.join(dir, 'part.tar');
    await writeReproducibleTar({ cwd: tree, outFile, mtime: MTIME, paths: ['include/linux', 'Makefile'] });
    const names = (await listing(outFile)).map((line) => line.replace(/\s+/g, ' ').split(' ')[5]);
    expect(names).toEqual(['include/linux/', 'include/linux/module.h', 'Makefile']);
  });

  itWithGnuTar('leaves no tar, not even a partial one, when tar fails', async () => {
    const outFile = path.join(dir, 'out.tar');
    await expect(writeReproducibleTar({ cwd: tree, outFile, mtime: MTIME, paths: ['no-such-dir'] })).rejects.toThrow(
      /tar of no-such-dir in .* failed \(exit 2\)/,
    );
    expect(await fs.readdir(dir)).toEqual(['tree']);
  });

  it('refuses to write the tar inside the tree it archives', async () => {
    await expect(writeReproducibleTar({ cwd: tree, outFile: path.join(tree, 'self.tar'), mtime: MTIME })).rejects.toThrow(
      /is inside '\.', which it archives/,
    );
  });
});
