import { createReadStream, promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { pipeline } from 'stream/promises';
import execa from 'execa';
import { Parser, ReadEntry } from 'tar';

/** A file's content, a symlink, or an executable. */
export type FixtureFile = string | Buffer | { symlink: string } | { executable: string };
export type FixtureFiles = Record<string, FixtureFile>;

/** Temp directories removed after each test. */
export function useTempDirs(): { make(): Promise<string> } {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  return {
    async make() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'distro-spec-'));
      made.push(dir);
      return dir;
    },
  };
}

export async function writeTree(root: string, files: FixtureFiles): Promise<void> {
  for (const [name, file] of Object.entries(files)) {
    const target = path.join(root, name);
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (typeof file === 'object' && 'symlink' in file) await fs.symlink(file.symlink, target);
    else if (typeof file === 'object' && 'executable' in file) await fs.writeFile(target, file.executable, { mode: 0o755 });
    else await fs.writeFile(target, file);
  }
}

export interface FixturePackage {
  name: string;
  version: string;
  /** amd64/all for .deb, x86_64/noarch for .rpm. */
  arch: string;
  files: FixtureFiles;
}

/** `dpkg-deb --build` of `files`, uncompressed so the tests stay fast. */
export async function buildDeb(dir: string, pkg: FixturePackage): Promise<string> {
  const root = await fs.mkdtemp(path.join(dir, 'deb-root-'));
  await writeTree(root, pkg.files);
  await writeTree(root, {
    'DEBIAN/control': [`Package: ${pkg.name}`, `Version: ${pkg.version}`, `Architecture: ${pkg.arch}`, 'Maintainer: Test <test@example.org>', 'Description: test package', ''].join('\n'),
  });
  const deb = path.join(dir, `${pkg.name}_${pkg.version}_${pkg.arch}.deb`);
  await execa('dpkg-deb', ['--build', '--root-owner-group', '-Znone', root, deb]);
  await fs.rm(root, { recursive: true, force: true });
  return deb;
}

/**
 * A .deb whose data.tar holds one member named `memberName` (e.g. '../evil'), which dpkg-deb
 * itself would never build: assembled with ar and GNU tar's --transform.
 */
export async function buildDebWithMember(dir: string, name: string, memberName: string): Promise<string> {
  const work = await fs.mkdtemp(path.join(dir, 'raw-deb-'));
  await writeTree(work, {
    'debian-binary': '2.0\n',
    'control/control': `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: test\n`,
    'data/evil': 'escaped\n',
  });
  await execa('tar', ['-czf', 'control.tar.gz', '-C', 'control', './control'], { cwd: work });
  const transform = `s,^evil$,${memberName.replace(/,/g, '\\,')},`;
  await execa('tar', ['-cf', 'data.tar', '-P', `--transform=${transform}`, '-C', 'data', 'evil'], { cwd: work });
  const deb = path.join(dir, `${name}_1.0_all.deb`);
  await execa('ar', ['rc', deb, 'debian-binary', 'control.tar.gz', 'data.tar'], { cwd: work });
  return deb;
}

/** `rpmbuild -bb` of `files` (version is `<version>-<release>`), uncompressed and without rpm's post-processing. */
export async function buildRpm(dir: string, pkg: FixturePackage): Promise<string> {
  const [version, release] = pkg.version.split('-');
  const top = await fs.mkdtemp(path.join(dir, 'rpm-top-'));
  const staging = path.join(top, 'staging');
  await writeTree(staging, pkg.files);
  const tops = [...new Set(Object.keys(pkg.files).map((name) => name.split('/')[0]))].sort();
  const spec = [
    `Name: ${pkg.name}`,
    `Version: ${version}`,
    `Release: ${release}`,
    'Summary: test package',
    'License: GPL-2.0',
    `BuildArch: ${pkg.arch}`,
    'AutoReqProv: no',
    '%global debug_package %{nil}',
    '%global __os_install_post %{nil}',
    '%global _build_id_links none',
    '%global _binary_payload w.ufdio',
    '%description',
    'test package',
    '%install',
    `cp -a ${staging}/. %{buildroot}/`,
    '%files',
    ...tops.map((name) => `/${name}`),
    '',
  ].join('\n');
  await fs.writeFile(path.join(top, 'test.spec'), spec);
  await execa('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_rpmdir ${dir}`, path.join(top, 'test.spec')]);
  await fs.rm(top, { recursive: true, force: true });
  return path.join(dir, pkg.arch, `${pkg.name}-${pkg.version}.${pkg.arch}.rpm`);
}

export async function hasCommand(command: string): Promise<boolean> {
  return execa('sh', ['-c', 'command -v "$1"', 'sh', command], { reject: false }).then((result) => result.exitCode === 0);
}

/** A kernel image that passes for an x86 bzImage: "HdrS" at 0x202 (boot protocol header). */
export function fakeBzImage(label = 'fake kernel'): Buffer {
  const image = Buffer.alloc(0x400);
  image.write('HdrS', 0x202, 'latin1');
  image.write(label, 0x300, 'latin1');
  return image;
}

/** An arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst). */
export function fakeArm64Image(): Buffer {
  const image = Buffer.alloc(0x400);
  image.write('ARM\x64', 0x38, 'latin1');
  return image;
}

/**
 * Relocatable objects depmod reads as modules: `.modinfo`, the exported names in
 * `__ksymtab_strings`, undefined symbols for what a module uses. No kernel headers needed.
 */
export async function buildFakeModules(dir: string): Promise<{ provider: Buffer; user: Buffer }> {
  const sources = {
    provider: [
      '__attribute__((section(".modinfo"), used)) static const char n[] = "name=fake_provider";',
      '__attribute__((section("__ksymtab_strings"), used)) static const char s[] = "fake_provider_hello";',
      'int fake_provider_hello(void) { return 1; }',
    ],
    user: [
      '__attribute__((section(".modinfo"), used)) static const char n[] = "name=fake_user";',
      'extern int fake_provider_hello(void);',
      'int fake_user_init(void) { return fake_provider_hello(); }',
    ],
  };
  const built: Record<string, Buffer> = {};
  for (const [name, lines] of Object.entries(sources)) {
    await fs.writeFile(path.join(dir, `${name}.c`), `${lines.join('\n')}\n`);
    await execa('gcc', ['-c', '-O0', '-o', `${name}.o`, `${name}.c`], { cwd: dir });
    built[name] = await fs.readFile(path.join(dir, `${name}.o`));
  }
  return { provider: built.provider, user: built.user };
}

export interface TarMember {
  type: string;
  linkpath?: string;
  content?: Buffer;
}

/** Every member of a tar: type, link target and, for files `withContent` picks (default all), content. */
export async function readTar(file: string, withContent: (name: string) => boolean = () => true): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const member: TarMember = { type: entry.type, linkpath: entry.linkpath };
      members.set(entry.path, member);
      if (entry.type !== 'File' || !withContent(entry.path)) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => (member.content = Buffer.concat(chunks)));
    },
  });
  await pipeline(createReadStream(file), parser);
  return members;
}

export const FAKE_RELEASE = '9.9.9-1-test-amd64';
export const FAKE_VERSION = '9.9.9-1';

export interface DebianSetOptions {
  release?: string;
  version?: string;
  /** The -common tree's name, `linux-headers-<abi>-common`. */
  abi?: string;
  modulesUnder?: 'lib/modules' | 'usr/lib/modules';
  /** arm64 adds Debian's device trees, /usr/lib/linux-image-<release>/<vendor>/*.dtb. */
  arch?: 'amd64' | 'arm64';
}

/**
 * The packages of a Debian kernel in miniature, laid out as Debian lays them out: the image with
 * /boot files and modules, linux-headers-<release> (a one-line Makefile including -common's,
 * scripts/ a symlink into linux-kbuild), -common, linux-kbuild and linux-libc-dev.
 */
export function debianKernelPackages(modules: { provider: Buffer; user: Buffer }, options: DebianSetOptions = {}): Record<'image' | 'headers' | 'common' | 'kbuild' | 'libcDev', FixturePackage> {
  const release = options.release ?? FAKE_RELEASE;
  const version = options.version ?? FAKE_VERSION;
  const abi = options.abi ?? '9.9.9-1';
  const modulesDir = `${options.modulesUnder ?? 'lib/modules'}/${release}`;
  const arch = options.arch ?? 'amd64';
  const common = `usr/src/linux-headers-${abi}-common`;
  const multiarch = arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
  const deviceTrees: FixtureFiles = arch === 'arm64' ? { [`usr/lib/linux-image-${release}/broadcom/bcm2711-rpi-4-b.dtb`]: 'dtb' } : {};
  const headers = `usr/src/linux-headers-${release}`;
  return {
    image: {
      name: `linux-image-${release}`,
      version,
      arch,
      files: {
        ...deviceTrees,
        [`boot/vmlinuz-${release}`]: arch === 'amd64' ? fakeBzImage(release) : fakeArm64Image(),
        [`boot/System.map-${release}`]: 'ffffffff81000000 T _stext\n',
        [`boot/config-${release}`]: 'CONFIG_MODULES=y\n',
        [`${modulesDir}/kernel/lib/fake_provider.ko`]: modules.provider,
        [`${modulesDir}/kernel/fs/fake_user.ko`]: modules.user,
        [`${modulesDir}/modules.order`]: 'kernel/lib/fake_provider.ko\nkernel/fs/fake_user.ko\n',
        [`${modulesDir}/modules.builtin`]: 'kernel/fs/ext4/ext4.ko\n',
      },
    },
    headers: {
      name: `linux-headers-${release}`,
      version,
      arch,
      files: {
        [`${headers}/Makefile`]: `include /${common}/Makefile\n`,
        [`${headers}/.config`]: 'CONFIG_MODULES=y\n',
        [`${headers}/Module.symvers`]: '0x00000000\tfake_symbol\tvmlinux\tEXPORT_SYMBOL\t\n',
        [`${headers}/include/generated/autoconf.h`]: '#define CONFIG_MODULES 1\n',
        [`${headers}/scripts`]: { symlink: '../../lib/linux-kbuild-9.9/scripts' },
        [`lib/modules/${release}/build`]: { symlink: `/${headers}` },
        [`lib/modules/${release}/source`]: { symlink: `/${common}` },
      },
    },
    common: {
      name: `linux-headers-${abi}-common`,
      version,
      arch: 'all',
      files: {
        [`${common}/Makefile`]: 'VERSION = 9\n-include .kernelvariables\n',
        [`${common}/include/linux/module.h`]: '/* module.h */\n',
        [`${common}/include/uapi/linux/input-event-codes.h`]: '/* codes */\n',
        [`${common}/include/dt-bindings/input/linux-event-codes.h`]: { symlink: '../../uapi/linux/input-event-codes.h' },
        [`${common}/scripts`]: { symlink: '../../lib/linux-kbuild-9.9/scripts' },
      },
    },
    kbuild: {
      name: 'linux-kbuild-9.9',
      version,
      arch,
      files: {
        'usr/lib/linux-kbuild-9.9/scripts/Makefile.build': '# build\n',
        'usr/lib/linux-kbuild-9.9/scripts/Makefile.modpost': { symlink: 'Makefile.build' },
        'usr/lib/linux-kbuild-9.9/scripts/basic/fixdep': { executable: '#!/bin/sh\n' },
        'usr/src/linux-kbuild-9.9': { symlink: '../lib/linux-kbuild-9.9' },
      },
    },
    libcDev: {
      name: 'linux-libc-dev',
      version,
      arch,
      files: {
        'usr/include/linux/types.h': '/* linux/types.h */\n',
        [`usr/include/${multiarch}/asm/types.h`]: '/* asm/types.h */\n',
      },
    },
  };
}
