import { readFile, readdir, rm, utimes, writeFile } from 'fs/promises';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { archivePath, buildInitramfs, initramfsLayout, isModuleTreeMember } from './initramfs';
import { INIT_APPLETS } from './init-script';
import { newcHeader } from './newc';
import { FIXTURE_RELEASE, makeModulesTar, scratchDir } from './testing/fixtures';

const INIT = '#!/bin/sh\necho hello\npoweroff -f\n';

async function listArchive(file: string, verbose = false): Promise<string[]> {
  const { stdout } = await execa('cpio', [verbose ? '-tv' : '-t', '--quiet', '--numeric-uid-gid'], { input: gunzipSync(await readFile(file)) });
  return stdout.split('\n');
}

async function extractArchive(file: string, into: string): Promise<void> {
  // dev/console is a device node; leave it out so the test does not depend on being allowed to mknod.
  await execa('cpio', ['-id', '--quiet', '--no-absolute-filenames', '-D', into, '-f', 'dev/console'], { input: gunzipSync(await readFile(file)) });
}

describe('buildInitramfs', () => {
  let dir: string;
  let modulesTar: string;
  beforeAll(async () => {
    dir = await scratchDir('initramfs');
    modulesTar = await makeModulesTar(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('holds busybox, one link per applet, /init, the pseudo-filesystem dirs and the modules tree, in sorted order', async () => {
    const outFile = path.join(dir, 'full.cpio.gz');
    const summary = await buildInitramfs({ outFile, modulesTar, init: INIT });
    const modules = `lib/modules/${FIXTURE_RELEASE}`;
    const expected = [
      'bin',
      'bin/busybox',
      ...INIT_APPLETS.map((applet) => `bin/${applet}`),
      'dev',
      'dev/console',
      'init',
      'lib',
      'lib/modules',
      modules,
      `${modules}/kernel`,
      `${modules}/kernel/lib`,
      `${modules}/kernel/lib/crc-itu-t.ko`,
      `${modules}/kernel/lib/helper.sh`,
      `${modules}/modules.dep`,
      'proc',
      'sys',
      'tmp',
    ].sort();
    expect(await listArchive(outFile)).toEqual(expected);
    expect(summary).toEqual({ outFile, entryCount: expected.length, moduleReleases: [FIXTURE_RELEASE] });
  });

  it('leaves out the build and source links and everything outside lib/modules', async () => {
    const outFile = path.join(dir, 'links.cpio.gz');
    await buildInitramfs({ outFile, modulesTar, init: INIT });
    const names = await listArchive(outFile);
    expect(names.filter((name) => /\/(build|source)$/.test(name) || name.startsWith('boot'))).toEqual([]);
  });

  it('records root ownership, fixed modes, applet links to busybox and a console device', async () => {
    const outFile = path.join(dir, 'modes.cpio.gz');
    await buildInitramfs({ outFile, modulesTar, init: INIT });
    const lines = await listArchive(outFile, true);
    const line = (name: string) => lines.find((candidate) => candidate.endsWith(` ${name}`) || candidate.includes(` ${name} -> `)) ?? '';
    expect(line('init')).toMatch(/^-rwxr-xr-x +1 0 +0 +\d+ /);
    expect(line('bin/busybox')).toMatch(/^-rwxr-xr-x +1 0 +0 /);
    expect(line('bin/sh')).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/);
    expect(line('tmp')).toMatch(/^drwxrwxrwt /);
    expect(line('dev/console')).toMatch(/^crw------- +1 0 +0 +5, +1 /);
    expect(line(`lib/modules/${FIXTURE_RELEASE}/modules.dep`)).toMatch(/^-rw-r--r-- /);
    // An owner-only exec bit on the host still makes an executable everyone may run.
    expect(line(`lib/modules/${FIXTURE_RELEASE}/kernel/lib/helper.sh`)).toMatch(/^-rwxr-xr-x /);
  });

  it('stores the bytes of /init, busybox, the modules and extra files unchanged', async () => {
    const outFile = path.join(dir, 'content.cpio.gz');
    const extraSource = path.join(dir, 'tool.sh');
    await writeFile(extraSource, '#!/bin/sh\necho tool\n');
    await buildInitramfs({ outFile, modulesTar, init: INIT, extraFiles: [{ path: '/usr/local/bin/tool', source: extraSource, mode: 0o755 }] });
    const root = path.join(dir, 'content-root');
    await extractArchive(outFile, root);
    expect(await readFile(path.join(root, 'init'), 'utf8')).toBe(INIT);
    expect((await readFile(path.join(root, 'bin/busybox'))).equals(await readFile('/bin/busybox'))).toBe(true);
    expect(await readFile(path.join(root, `lib/modules/${FIXTURE_RELEASE}/modules.dep`), 'utf8')).toBe('kernel/lib/crc-itu-t.ko:\n');
    expect(await readFile(path.join(root, 'usr/local/bin/tool'), 'utf8')).toBe('#!/bin/sh\necho tool\n');
    expect(await listArchive(outFile, true)).toEqual(expect.arrayContaining([expect.stringMatching(/^-rwxr-xr-x .* usr\/local\/bin\/tool$/), expect.stringMatching(/^drwxr-xr-x .* usr\/local$/)]));
  });

  it('works without a modules tar', async () => {
    const outFile = path.join(dir, 'bare.cpio.gz');
    const summary = await buildInitramfs({ outFile, init: INIT });
    expect(summary.moduleReleases).toEqual([]);
    expect((await listArchive(outFile)).some((name) => name.startsWith('lib'))).toBe(false);
  });

  it('gives the same bytes for the same inputs, whatever their timestamps', async () => {
    const extraSource = path.join(dir, 'stamped');
    await writeFile(extraSource, 'same content');
    const build = async (name: string) => {
      const outFile = path.join(dir, name);
      await buildInitramfs({ outFile, modulesTar, init: INIT, extraFiles: [{ path: '/etc/stamped', source: extraSource }] });
      return readFile(outFile);
    };
    const first = await build('first.cpio.gz');
    await utimes(extraSource, new Date('2001-01-01'), new Date('2001-01-01'));
    const second = await build('second.cpio.gz');
    expect(second.equals(first)).toBe(true);
    expect(first.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('leaves an existing initramfs and no partial file behind when a build fails', async () => {
    const outFile = path.join(dir, 'atomic', 'initramfs.cpio.gz');
    await buildInitramfs({ outFile, init: INIT });
    const before = await readFile(outFile);
    await expect(buildInitramfs({ outFile, init: 'other', extraFiles: [{ path: '/x', source: path.join(dir, 'missing') }] })).rejects.toThrow(
      /extra file for \/x: .*missing does not exist/,
    );
    await expect(buildInitramfs({ outFile, init: 'other', modulesTar: path.join(dir, 'kernel.tar.missing') })).rejects.toThrow(KernelBuildError);
    expect((await readFile(outFile)).equals(before)).toBe(true);
    expect(await readdir(path.dirname(outFile))).toEqual(['initramfs.cpio.gz']);
  });

  it('rejects a modules tar that is not a tar', async () => {
    const notTar = path.join(dir, 'not-a.tar');
    await writeFile(notTar, 'plain text, not a tar archive at all'.repeat(40));
    await expect(buildInitramfs({ outFile: path.join(dir, 'bad.cpio.gz'), init: INIT, modulesTar: notTar })).rejects.toThrow(/cannot read modules tar/);
  });

  it('names the package to install when busybox is missing', async () => {
    await expect(buildInitramfs({ outFile: path.join(dir, 'nobusybox.cpio.gz'), init: INIT, busybox: path.join(dir, 'no-busybox') })).rejects.toMatchObject({
      fix: expect.stringContaining('busybox-static'),
    });
  });

  it('refuses a busybox built for another architecture', async () => {
    await expect(buildInitramfs({ outFile: path.join(dir, 'wrongarch.cpio.gz'), init: INIT, arch: 'aarch64' })).rejects.toMatchObject({
      message: expect.stringContaining('not for aarch64'),
      fix: expect.stringContaining('busybox-static:arm64'),
    });
  });
});

describe('initramfsLayout', () => {
  const parts = { busybox: { source: '/bin/busybox', size: 10 }, init: INIT, modules: [], extraFiles: [] };

  it('refuses an extra file that would replace /init or an applet', () => {
    expect(() => initramfsLayout({ ...parts, extraFiles: [{ path: '/init', source: '/tmp/x', size: 1, mode: 0o755 }] })).toThrow(
      'initramfs path /init is provided twice: by /init and by the extra file /tmp/x',
    );
    expect(() => initramfsLayout({ ...parts, extraFiles: [{ path: 'bin/sh', source: '/tmp/x', size: 1, mode: 0o755 }] })).toThrow(/\/bin\/sh is provided twice/);
  });

  it('refuses an extra file below a path that is not a directory', () => {
    expect(() => initramfsLayout({ ...parts, extraFiles: [{ path: '/init/x', source: '/tmp/x', size: 1, mode: 0o644 }] })).toThrow(
      'initramfs path /init is a file from /init, but the extra file /tmp/x needs it to be a directory',
    );
  });

  it('puts every parent directory before its children', () => {
    const entries = initramfsLayout({ ...parts, extraFiles: [{ path: '/a/b-c/d', source: '/tmp/d', size: 1, mode: 0o644 }, { path: '/a/b/e', source: '/tmp/e', size: 1, mode: 0o644 }] });
    const paths = entries.map((entry) => entry.path);
    for (const [index, entryPath] of paths.entries()) {
      const parent = path.posix.dirname(entryPath);
      if (parent !== '.') expect(paths.indexOf(parent)).toBeLessThan(index);
    }
    expect(paths.filter((entryPath) => entryPath.startsWith('a'))).toEqual(['a', 'a/b', 'a/b-c', 'a/b-c/d', 'a/b/e']);
  });
});

describe('archivePath', () => {
  it('makes guest paths relative to the archive root', () => {
    expect(archivePath('/usr/bin/tool')).toBe('usr/bin/tool');
    expect(archivePath('etc//x/')).toBe('etc/x');
  });

  it.each(['/', '', '../etc/passwd', '/a/../../b', '.'])('refuses %j', (guestPath) => {
    expect(() => archivePath(guestPath)).toThrow(KernelBuildError);
  });
});

describe('isModuleTreeMember', () => {
  it.each([
    ['lib/modules/6.12.118-linuxkit/modules.dep', true],
    ['./lib/modules/6.12.118-linuxkit/kernel/lib/crc-itu-t.ko', true],
    ['lib/modules/6.12.118-linuxkit/', true],
    ['lib/modules/6.12.118-linuxkit/build', false],
    ['lib/modules/6.12.118-linuxkit/build/Makefile', false],
    ['lib/modules/6.12.118-linuxkit/source', false],
    ['lib/modules/6.12.118-linuxkit/kernel/build', true],
    ['boot/dtb/board.dtb', false],
    ['usr/src/linux-headers-6.12.118-linuxkit/Makefile', false],
    ['lib/firmware/x.bin', false],
  ])('%s → %s', (member, expected) => {
    expect(isModuleTreeMember(member)).toBe(expected);
  });
});

describe('newcHeader', () => {
  it('writes the 070701 header with the NUL-terminated name padded to 4 bytes', () => {
    const header = newcHeader({ ino: 1, mode: 0o100755, nlink: 1, fileSize: 5, rdevMajor: 0, rdevMinor: 0, name: 'init' });
    expect(header.toString('latin1')).toBe(
      '070701' + '00000001' + '000081ED' + '00000000' + '00000000' + '00000001' + '00000000' + '00000005' + '00000000' + '00000000' + '00000000' + '00000000' + '00000005' + '00000000' + 'init\0' + '\0', // 110 + 5 bytes, padded to 116
    );
    expect(header.length % 4).toBe(0);
  });

  it('counts the name in bytes, not characters', () => {
    const header = newcHeader({ ino: 2, mode: 0o100644, nlink: 1, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: 'é' });
    expect(header.toString('latin1', 94, 102)).toBe('00000003');
    expect(header.length % 4).toBe(0);
  });
});
