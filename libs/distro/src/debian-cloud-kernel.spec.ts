import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import execa from 'execa';
import { repackageDistroKernel } from './index';
import { TarMember, hasCommand, readTar } from './testing/package-fixtures';

// Repackages Debian's real cloud kernel: apt resolves the linux-image-cloud-amd64 metapackage to
// the versioned packages and downloads them once into DISTRO_DEB_CACHE (default /tmp/distro-debs).
// Skipped, with the reason printed, where apt cannot download them.
const cacheDir = process.env.DISTRO_DEB_CACHE ?? '/tmp/distro-debs';
const METAPACKAGE = 'linux-image-cloud-amd64';
const MTIME = 1_700_000_000;

async function aptCache(args: string[]): Promise<string> {
  const { stdout } = await execa('apt-cache', args);
  return stdout;
}

/** `Depends:` lines of `apt-cache depends`, alternatives and virtual packages dropped. */
async function dependencies(name: string): Promise<string[]> {
  const text = await aptCache(['depends', name]);
  return [...text.matchAll(/^\s+\|?Depends: ([^<\s]+)$/gm)].map((match) => match[1]);
}

async function candidateVersion(name: string): Promise<string | undefined> {
  const text = await aptCache(['show', '--no-all-versions', name]).catch(() => '');
  return /^Version: (\S+)$/m.exec(text)?.[1];
}

/** The cached .deb of name=version, downloading it first when it is not there yet. */
async function cachedDeb(name: string, version: string): Promise<string> {
  const prefix = `${name}_${version.replace(/:/g, '%3a')}_`;
  const cached = () => fs.readdir(cacheDir).then((names) => names.find((file) => file.startsWith(prefix) && file.endsWith('.deb')));
  const found = (await cached()) ?? (await execa('apt-get', ['download', '-q', `${name}=${version}`], { cwd: cacheDir }).then(cached));
  if (!found) throw new Error(`apt-get download ${name}=${version} left no ${prefix}*.deb in ${cacheDir}`);
  return path.join(cacheDir, found);
}

interface CloudKernel {
  release: string;
  version: string;
  image: string;
  debs: string[];
}

async function downloadCloudKernel(): Promise<CloudKernel> {
  if (process.arch !== 'x64') throw new Error(`the ${METAPACKAGE} packages are for amd64; this host is ${process.arch}`);
  const image = (await dependencies(METAPACKAGE)).find((name) => /^linux-image-.*-cloud-amd64$/.test(name));
  if (!image) throw new Error(`apt-cache depends ${METAPACKAGE} names no versioned linux-image (run apt-get update)`);
  const release = image.replace(/^linux-image-/, '');
  const version = await candidateVersion(image);
  if (!version) throw new Error(`apt has no candidate version of ${image}`);
  const headers = `linux-headers-${release}`;
  // linux-headers-<release> depends on its -common and on linux-kbuild-<series>, both of the same build.
  const headerDependencies = (await dependencies(headers)).filter((name) => /^linux-(headers-.*-common|kbuild-.*)$/.test(name));
  const names = [image, headers, ...headerDependencies];
  if ((await candidateVersion('linux-libc-dev')) === version) names.push('linux-libc-dev');
  await fs.mkdir(cacheDir, { recursive: true });
  const debs = [];
  for (const name of names) debs.push(await cachedDeb(name, version));
  return { release, version, image, debs };
}

describe(`repackageDistroKernel with Debian's ${METAPACKAGE} (real packages from apt)`, () => {
  let kernel: CloudKernel | undefined;
  let skipReason: string | undefined;
  let outDir: string;
  let work: string;
  let modules: Map<string, TarMember>;

  beforeAll(async () => {
    kernel = await downloadCloudKernel().catch((error: Error) => {
      skipReason = `cannot get the packages from apt or the cache: ${error.message.split('\n')[0]}`;
      return undefined;
    });
    if (!kernel) return;
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'distro-cloud-'));
    outDir = path.join(work, 'artifacts');
    await repackageDistroKernel({ packages: kernel.debs, outDir, arch: 'x86_64', mtime: MTIME });
    const small = /\/modules\.(dep|builtin)$/;
    modules = await readTar(path.join(outDir, 'kernel.tar'), (name) => small.test(name));
  }, 600_000);
  afterAll(() => (work ? fs.rm(work, { recursive: true, force: true }) : undefined));

  /** The kernel, or undefined (with the reason printed) when apt could not provide it. */
  const cloud = (): CloudKernel | undefined => {
    if (!kernel) console.warn(`skipping the real Debian kernel test: ${skipReason}`);
    return kernel;
  };

  it('writes a bzImage and a build.json naming the image package', async () => {
    const k = cloud();
    if (!k) return;
    const image = await fs.readFile(path.join(outDir, 'kernel'));
    expect(image.subarray(0x202, 0x206).toString('latin1')).toBe('HdrS');
    expect(JSON.parse(await fs.readFile(path.join(outDir, 'build.json'), 'utf8'))).toEqual({ release: k.release, arch: 'x86_64', builder: `distro:debian:${k.image}=${k.version}`, mtime: MTIME });
    expect(await fs.readFile(path.join(outDir, 'config'), 'utf8')).toMatch(/^CONFIG_MODULES=y$/m);
  });

  it('ships the modules with depmod’s output and a build link', () => {
    const k = cloud();
    if (!k) return;
    const dir = `lib/modules/${k.release}`;
    expect(modules.get(`${dir}/modules.dep.bin`)?.type).toBe('File');
    expect(modules.get(`${dir}/build`)).toMatchObject({ type: 'SymbolicLink', linkpath: `/usr/src/linux-headers-${k.release}` });
    expect(modules.has(`${dir}/source`)).toBe(false);
    const moduleFile = (name: string) => [...modules.keys()].find((member) => new RegExp(`^${dir}/${name}(\\.xz|\\.zst|\\.gz)?$`).test(member));
    expect(moduleFile('kernel/fs/xfs/xfs.ko')).toBeDefined();
    // ext4 is built into the cloud kernel; crc-itu-t is a module with no dependencies of its own, and
    // udf needs it and cdrom: the modprobe targets for a boot test.
    expect(modules.get(`${dir}/modules.builtin`)?.content?.toString()).toMatch(/^kernel\/fs\/ext4\/ext4\.ko$/m);
    expect(moduleFile('kernel/lib/crc-itu-t.ko')).toBeDefined();
    const dep = modules.get(`${dir}/modules.dep`)?.content?.toString() ?? '';
    expect(dep).toMatch(/^kernel\/lib\/crc-itu-t\.ko[.a-z]*:$/m);
    expect(dep).toMatch(/^kernel\/fs\/udf\/udf\.ko[.a-z]*: .*kernel\/lib\/crc-itu-t\.ko/m);
  });

  it('writes a self-contained headers tree that builds an out-of-tree module', async () => {
    const k = cloud();
    if (!k) return;
    const tree = `usr/src/linux-headers-${k.release}`;
    const dev = await readTar(path.join(outDir, 'kernel-dev.tar'), () => false);
    for (const name of ['Makefile', '.config', 'Module.symvers', 'scripts/basic/fixdep', 'scripts/mod/modpost', 'arch/x86/include/generated/asm/rwonce.h']) {
      expect([name, dev.get(`${tree}/${name}`)?.type]).toEqual([name, 'File']);
    }
    expect(dev.get(`${tree}/scripts/`)?.type).toBe('Directory');
    expect([...dev.values()].filter((member) => member.type === 'SymbolicLink' && member.linkpath?.startsWith('/'))).toEqual([]);

    if (!(await hasCommand('gcc-12')) || !(await hasCommand('make'))) {
      console.warn('skipping the module build: Debian 12 builds its kernel with gcc-12 and make, not installed here');
      return;
    }
    const unpacked = path.join(work, 'dev');
    const moduleDir = path.join(work, 'hello');
    await fs.mkdir(unpacked);
    await fs.mkdir(moduleDir);
    await execa('tar', ['-xf', path.join(outDir, 'kernel-dev.tar'), '-C', unpacked]);
    await fs.writeFile(
      path.join(moduleDir, 'hello.c'),
      '#include <linux/module.h>\nstatic int __init hello_init(void) { pr_info("Hello LinuxKit\\n"); return 0; }\nmodule_init(hello_init);\nMODULE_LICENSE("GPL");\n',
    );
    await fs.writeFile(path.join(moduleDir, 'Kbuild'), 'obj-m := hello.o\n');
    await execa('make', ['-C', path.join(unpacked, tree), `M=${moduleDir}`, 'modules']);
    const { stdout } = await execa('/sbin/modinfo', ['-F', 'vermagic', path.join(moduleDir, 'hello.ko')]);
    expect(stdout.split(' ')[0]).toBe(k.release);
  }, 180_000);

  it('lays out linux-libc-dev’s UAPI headers as headers_install does', async () => {
    const k = cloud();
    if (!k) return;
    const headers = await readTar(path.join(outDir, 'kernel-headers.tar'), () => false);
    if (!k.debs.some((deb) => path.basename(deb).startsWith('linux-libc-dev_'))) {
      expect([...headers.keys()]).toEqual(['usr/', 'usr/include/']);
      return;
    }
    expect(headers.get('usr/include/asm/types.h')?.type).toBe('File');
    expect(headers.get('usr/include/linux/types.h')?.type).toBe('File');
    expect([...headers.keys()].some((name) => name.includes('-linux-gnu/'))).toBe(false);
  });
});
