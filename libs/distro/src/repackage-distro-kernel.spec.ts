import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { repackageDistroKernel } from './index';
import {
  FAKE_RELEASE,
  FAKE_VERSION,
  FixturePackage,
  buildDeb,
  buildDebWithMember,
  buildFakeModules,
  debianKernelPackages,
  fakeBzImage,
  readTar,
  useTempDirs,
} from './testing/package-fixtures';

const MTIME = 1_700_000_000;
const headersDir = `usr/src/linux-headers-${FAKE_RELEASE}`;
const modulesDir = `lib/modules/${FAKE_RELEASE}`;

describe('repackageDistroKernel with Debian packages', () => {
  const temp = useTempDirs();
  let shared: string;
  let modules: { provider: Buffer; user: Buffer };
  let debs: Record<'image' | 'headers' | 'common' | 'kbuild' | 'libcDev', string>;

  beforeAll(async () => {
    shared = await fs.mkdtemp(path.join(os.tmpdir(), 'distro-debs-spec-'));
    modules = await buildFakeModules(shared);
    const packages = debianKernelPackages(modules);
    debs = {
      image: await buildDeb(shared, packages.image),
      headers: await buildDeb(shared, packages.headers),
      common: await buildDeb(shared, packages.common),
      kbuild: await buildDeb(shared, packages.kbuild),
      libcDev: await buildDeb(shared, packages.libcDev),
    };
  });
  afterAll(() => fs.rm(shared, { recursive: true, force: true }));

  const fullSet = () => [debs.image, debs.headers, debs.common, debs.kbuild, debs.libcDev];
  const repackage = async (packages: string[], outDir?: string) =>
    repackageDistroKernel({ packages, outDir: outDir ?? path.join(await temp.make(), 'artifacts'), arch: 'x86_64', mtime: MTIME });
  const rejection = async (packages: string[]) => {
    const error = await repackage(packages).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(KernelBuildError);
    return error as KernelBuildError;
  };
  const variant = async (pkg: FixturePackage) => buildDeb(await temp.make(), pkg);

  it('writes kernel, System.map, config, the three tars and build.json', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    const result = await repackage(fullSet(), outDir);

    expect(result.release).toBe(FAKE_RELEASE);
    expect(result.files.map((file) => path.relative(outDir, file))).toEqual(['System.map', 'build.json', 'config', 'kernel', 'kernel-dev.tar', 'kernel-headers.tar', 'kernel.tar']);
    expect((await fs.readFile(path.join(outDir, 'kernel'))).subarray(0x202, 0x206).toString()).toBe('HdrS');
    expect(await fs.readFile(path.join(outDir, 'System.map'), 'utf8')).toBe('ffffffff81000000 T _stext\n');
    expect(await fs.readFile(path.join(outDir, 'config'), 'utf8')).toBe('CONFIG_MODULES=y\n');
    expect(JSON.parse(await fs.readFile(path.join(outDir, 'build.json'), 'utf8'))).toEqual({
      release: FAKE_RELEASE,
      arch: 'x86_64',
      builder: `distro:debian:linux-image-${FAKE_RELEASE}=${FAKE_VERSION}`,
      mtime: MTIME,
    });
    const siblings = await fs.readdir(path.dirname(outDir));
    expect(siblings).toEqual(['artifacts']);
  });

  it('runs depmod over the modules and replaces build/source with a build link to the headers', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    await repackage(fullSet(), outDir);
    const tar = await readTar(path.join(outDir, 'kernel.tar'));

    expect(tar.get(`${modulesDir}/modules.dep`)?.content?.toString()).toBe('kernel/lib/fake_provider.ko:\nkernel/fs/fake_user.ko: kernel/lib/fake_provider.ko\n');
    expect(tar.get(`${modulesDir}/modules.dep.bin`)?.type).toBe('File');
    expect(tar.get(`${modulesDir}/kernel/lib/fake_provider.ko`)?.content?.equals(modules.provider)).toBe(true);
    expect(tar.get(`${modulesDir}/build`)).toMatchObject({ type: 'SymbolicLink', linkpath: `/${headersDir}` });
    expect(tar.has(`${modulesDir}/source`)).toBe(false);
    expect([...tar.keys()].filter((name) => !name.startsWith(`${modulesDir}/`))).toEqual(['lib/', 'lib/modules/']);
  });

  it('merges linux-headers-<release> with -common and linux-kbuild into one self-contained tree', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    await repackage(fullSet(), outDir);
    const tar = await readTar(path.join(outDir, 'kernel-dev.tar'));
    const member = (name: string) => tar.get(`${headersDir}/${name}`);

    // The one-line `include /usr/src/linux-headers-…-common/Makefile` is replaced by what it includes.
    expect(member('Makefile')?.content?.toString()).toBe('VERSION = 9\n-include .kernelvariables\n');
    expect(member('.config')?.content?.toString()).toBe('CONFIG_MODULES=y\n');
    expect(member('Module.symvers')?.type).toBe('File');
    expect(member('include/linux/module.h')?.type).toBe('File');
    expect(member('include/generated/autoconf.h')?.type).toBe('File');
    expect(member('include/dt-bindings/input/linux-event-codes.h')).toMatchObject({ type: 'SymbolicLink', linkpath: '../../uapi/linux/input-event-codes.h' });
    // scripts -> ../../lib/linux-kbuild-9.9/scripts pointed outside the tree: now a copy, its own links kept inside.
    expect(member('scripts/')?.type).toBe('Directory');
    expect(member('scripts/Makefile.build')?.content?.toString()).toBe('# build\n');
    expect(member('scripts/Makefile.modpost')).toMatchObject({ type: 'SymbolicLink', linkpath: 'Makefile.build' });
    expect(member('scripts/basic/fixdep')?.type).toBe('File');
    const escaping = [...tar.entries()].filter(([, entry]) => entry.type === 'SymbolicLink' && entry.linkpath?.startsWith('/'));
    expect(escaping).toEqual([]);
    expect([...tar.keys()].every((name) => name === 'usr/' || name === 'usr/src/' || name.startsWith(`${headersDir}/`))).toBe(true);
  });

  it('lays out linux-libc-dev as headers_install does, asm/ beside linux/', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    await repackage(fullSet(), outDir);
    const tar = await readTar(path.join(outDir, 'kernel-headers.tar'));
    expect([...tar.keys()].sort()).toEqual(['usr/', 'usr/include/', 'usr/include/asm/', 'usr/include/asm/types.h', 'usr/include/linux/', 'usr/include/linux/types.h']);
  });

  it('writes a kernel-headers.tar with only an empty usr/include/ when no UAPI headers package is given', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    const lines: string[] = [];
    await repackageDistroKernel({ packages: [debs.image, debs.headers, debs.common, debs.kbuild], outDir, arch: 'x86_64', mtime: MTIME, log: (line) => lines.push(line) });
    expect([...(await readTar(path.join(outDir, 'kernel-headers.tar'))).keys()]).toEqual(['usr/', 'usr/include/']);
    expect(lines.join('\n')).toMatch(/no UAPI headers package/);
  });

  it('moves merged-/usr modules (usr/lib/modules) to lib/modules', async () => {
    const packages = debianKernelPackages(modules, { modulesUnder: 'usr/lib/modules' });
    const outDir = path.join(await temp.make(), 'artifacts');
    await repackage([await variant(packages.image), debs.headers, debs.common, debs.kbuild], outDir);
    const tar = await readTar(path.join(outDir, 'kernel.tar'));
    expect(tar.get(`${modulesDir}/kernel/fs/fake_user.ko`)?.type).toBe('File');
    expect(tar.get(`${modulesDir}/modules.dep`)?.content?.toString()).toContain('kernel/fs/fake_user.ko: kernel/lib/fake_provider.ko');
    expect([...tar.keys()].some((name) => name.startsWith('usr/'))).toBe(false);
  });

  it('repackages arm64 packages for aarch64, device trees under boot/dtb', async () => {
    const packages = debianKernelPackages(modules, { arch: 'arm64' });
    const dir = await temp.make();
    const arm64 = [];
    for (const pkg of [packages.image, packages.headers, packages.common, packages.kbuild, packages.libcDev]) arm64.push(await buildDeb(dir, pkg));
    const outDir = path.join(dir, 'artifacts');
    await repackageDistroKernel({ packages: arm64, outDir, arch: 'aarch64', mtime: MTIME });

    const tar = await readTar(path.join(outDir, 'kernel.tar'));
    expect(tar.get('boot/dtb/broadcom/bcm2711-rpi-4-b.dtb')?.content?.toString()).toBe('dtb');
    expect(tar.get(`${modulesDir}/modules.dep`)?.type).toBe('File');
    expect((await readTar(path.join(outDir, 'kernel-headers.tar'))).get('usr/include/asm/types.h')?.type).toBe('File');
    await expect(repackageDistroKernel({ packages: arm64, outDir, arch: 'x86_64', mtime: MTIME })).rejects.toThrow(/is for arm64, not x86_64 \(amd64\)$/);
  });

  it('refuses an x86 kernel image in arm64-labelled packages', async () => {
    const packages = debianKernelPackages(modules, { arch: 'arm64' });
    packages.image.files[`boot/vmlinuz-${FAKE_RELEASE}`] = fakeBzImage();
    const dir = await temp.make();
    const arm64 = [];
    for (const pkg of [packages.image, packages.headers, packages.common, packages.kbuild]) arm64.push(await buildDeb(dir, pkg));
    await expect(repackageDistroKernel({ packages: arm64, outDir: path.join(dir, 'out'), arch: 'aarch64', mtime: MTIME })).rejects.toThrow(
      `/boot/vmlinuz-${FAKE_RELEASE} from linux-image-${FAKE_RELEASE} ${FAKE_VERSION} (linux-image-${FAKE_RELEASE}_${FAKE_VERSION}_arm64.deb) is a bzImage, not one an aarch64 LinuxKit image can boot (Image, Image.gz, EFI zboot)`,
    );
  });

  it('takes the real System.map from the -dbg package over /boot’s placeholder', async () => {
    const packages = debianKernelPackages(modules);
    packages.image.files[`boot/System.map-${FAKE_RELEASE}`] = 'ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n';
    const dbg: FixturePackage = { name: `linux-image-${FAKE_RELEASE}-dbg`, version: FAKE_VERSION, arch: 'amd64', files: { [`usr/lib/debug/boot/System.map-${FAKE_RELEASE}`]: 'ffffffff81000000 T _text\n' } };
    const image = await variant(packages.image);
    const lines: string[] = [];
    const outDir = path.join(await temp.make(), 'artifacts');

    await repackageDistroKernel({ packages: [image, debs.headers, debs.common, debs.kbuild], outDir, arch: 'x86_64', mtime: MTIME, log: (line) => lines.push(line) });
    expect(lines.join('\n')).toMatch(new RegExp(`System.map is .*placeholder; pass its -dbg package \\(linux-image-${FAKE_RELEASE}-dbg\\)`));

    await repackage([image, await variant(dbg), debs.headers, debs.common, debs.kbuild], outDir);
    expect(await fs.readFile(path.join(outDir, 'System.map'), 'utf8')).toBe('ffffffff81000000 T _text\n');
  });

  it('writes byte-identical tars from the same packages', async () => {
    const [first, second] = [path.join(await temp.make(), 'a'), path.join(await temp.make(), 'b')];
    await repackage(fullSet(), first);
    await repackage(fullSet(), second);
    for (const name of ['kernel.tar', 'kernel-dev.tar', 'kernel-headers.tar']) {
      expect((await fs.readFile(path.join(first, name))).equals(await fs.readFile(path.join(second, name)))).toBe(true);
    }
  });

  it('refuses a package set without an image', async () => {
    const error = await rejection([debs.headers, debs.common, debs.kbuild]);
    expect(error.message).toMatch(/^no kernel image among the packages: linux-headers-/);
    expect(error.fix).toMatch(/linux-image-<release>/);
  });

  it('refuses headers of another release, naming both', async () => {
    const other = debianKernelPackages(modules, { release: '9.9.8-1-test-amd64' });
    const error = await rejection([debs.image, await variant(other.headers), debs.common, debs.kbuild]);
    expect(error.message).toBe(
      `mixed releases: linux-headers-9.9.8-1-test-amd64 ${FAKE_VERSION} (linux-headers-9.9.8-1-test-amd64_${FAKE_VERSION}_amd64.deb) is for kernel 9.9.8-1-test-amd64, ` +
        `but the image linux-image-${FAKE_RELEASE} ${FAKE_VERSION} (linux-image-${FAKE_RELEASE}_${FAKE_VERSION}_amd64.deb) is ${FAKE_RELEASE}`,
    );
  });

  it('refuses a -common of another ABI, naming the tree the headers need', async () => {
    const other = debianKernelPackages(modules, { abi: '9.9.8-1' });
    const error = await rejection([debs.image, debs.headers, await variant(other.common), debs.kbuild]);
    expect(error.message).toMatch(new RegExp(`^linux-headers-${FAKE_RELEASE} .* needs /usr/src/linux-headers-9\\.9\\.9-1-common, which none of the packages ships \\(.*Makefile includes`));
  });

  it('refuses packages of different versions', async () => {
    const error = await rejection([debs.image, debs.headers, debs.common, await variant({ ...debianKernelPackages(modules).kbuild, version: '9.9.9-0' })]);
    expect(error.message).toMatch(/^mixed versions: linux-kbuild-9\.9 9\.9\.9-0 .* is not from the same build as the image/);
    expect(error.fix).toBe(`download linux-kbuild-9.9=${FAKE_VERSION} (Debian builds all of a kernel's packages from one source version)`);
  });

  it('names linux-kbuild when the headers link into it and it is missing', async () => {
    const error = await rejection([debs.image, debs.headers, debs.common]);
    expect(error.message).toMatch(/: scripts is a symlink to \.\.\/\.\.\/lib\/linux-kbuild-9\.9\/scripts \(\/usr\/lib\/linux-kbuild-9\.9\/scripts\), which none of the packages ships$/);
    expect(error.fix).toMatch(/^add the linux-kbuild-9\.9 package of the same version/);
  });

  it('refuses a set without headers for the release', async () => {
    const error = await rejection([debs.image]);
    expect(error.message).toBe(`no headers for ${FAKE_RELEASE}: kernel-dev.tar needs them so out-of-tree modules can be built`);
  });

  it('refuses a file that is not a package', async () => {
    const notAPackage = path.join(await temp.make(), 'linux-image-9.9.9.deb');
    await fs.writeFile(notAPackage, '<html>404 Not Found</html>\n');
    const error = await rejection([debs.image, notAPackage]);
    expect(error.message).toBe(`${notAPackage} is not a .deb or .rpm package`);
  });

  it('refuses packages of another arch before unpacking anything', async () => {
    const arm = await variant({ ...debianKernelPackages(modules).image, arch: 'arm64' });
    const error = await rejection([arm, debs.headers, debs.common, debs.kbuild]);
    expect(error.message).toMatch(/^linux-image-.* is for arm64, not x86_64 \(amd64\)$/);
  });

  it('refuses a member that would be written outside the root', async () => {
    const dir = await temp.make();
    const evil = await buildDebWithMember(dir, 'linux-evil', '../../evil');
    const error = await rejection([debs.image, debs.headers, debs.common, debs.kbuild, evil]);
    expect(error.message).toBe(`${evil}: refused member '../../evil': has a '..' component`);
    expect(await fs.readdir(dir)).toEqual([path.basename(evil), expect.stringMatching(/^raw-deb-/)]);
  });

  it('refuses two packages that ship the same file', async () => {
    const twin = await variant({ ...debianKernelPackages(modules).libcDev, name: 'linux-libc-dev-twin' });
    const error = await rejection([...fullSet(), twin]);
    expect(error.message).toMatch(/refused member '\.\/usr\/include\/linux\/types\.h': is also shipped by linux-libc-dev /);
  });

  it('removes the work directories of runs that were killed', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    const dead = execa('true');
    await dead;
    const abandoned = `${outDir}.tmp-${dead.pid}-0badf00d`;
    await fs.mkdir(path.join(abandoned, 'root'), { recursive: true });
    await repackage(fullSet(), outDir);
    expect(await fs.readdir(path.dirname(outDir))).toEqual(['artifacts']);
  });

  it('keeps the previous artifacts when a run fails', async () => {
    const outDir = path.join(await temp.make(), 'artifacts');
    await repackage(fullSet(), outDir);
    const before = await fs.readFile(path.join(outDir, 'kernel.tar'));
    await expect(repackage([debs.headers, debs.common], outDir)).rejects.toThrow(/no kernel image/);
    expect((await fs.readFile(path.join(outDir, 'kernel.tar'))).equals(before)).toBe(true);
    expect(await fs.readdir(path.dirname(outDir))).toEqual(['artifacts']);
  });
});
