import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// The whole pipeline on real Debian kernel sources: fetch, patch, configure, compile, package and a
// qemu boot, for x86_64 and (cross-compiled) aarch64. The store, extraction and build dirs live in
// the repository's .kbuild so the demo, later runs and these tests share one download and ccache.
const WORK_DIR = process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild');
const env = { KERNEL_WORK_DIR: WORK_DIR };

describe('kernel-6.12-virt, built and booted from the Debian source', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    const kernels = fs.readdirSync(path.join(REPO_ROOT, 'kernels')).filter((dir) => dir !== 'common').map((dir) => `kernels/${dir}`);
    workspace = await createKernelWorkspace('pipeline', [...kernels, 'modules/hello-world', 'modules/acpi-call']);
  });

  afterAll(() => workspace?.dispose());

  const layoutOf = (arch: string) => path.join(workspace.root, 'dist/kernels/6.12-virt', arch, 'oci');
  const record = (arch: string) => JSON.parse(fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt', arch, 'image.json'), 'utf8'));

  it.each(['x86_64', 'aarch64'])('builds, packages and boots %s', async (arch) => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:test', `--arch=${arch}`, '--outputStyle=stream'], { env });
    expect(result.all).toMatch(new RegExp(`booted 6\\.12\\.118-linuxkit-virt on ${arch}`));
    const bootLog = fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt', arch, 'boot.log'), 'utf8');
    expect(bootLog).toContain('LinuxKit: kernel built by the linuxkit-kernels Nx pipeline');
    expect(bootLog).toMatch(/KTEST-MODPROBE virtio_blk ok/);

    const image = record(arch);
    expect(image.tags[0]).toBe('6.12.118-virt');
    expect(image.tags[1]).toMatch(/^6\.12\.118-virt-[0-9a-f]{12}$/);
    expect(image.dirty).toBe(false);
  });

  it('writes images that skopeo reads, with the buildimage label and /kernel-builder', async () => {
    const image = record('aarch64');
    const { stdout } = await execa('skopeo', ['inspect', `oci:${layoutOf('aarch64')}:${image.tags[1]}`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.Architecture).toBe('arm64');
    expect(inspected.Digest).toBe(image.manifestDigest);
    expect(inspected.Labels['org.mobyproject.linuxkit.kernel.buildimage']).toMatch(/aarch64-linux-gnu|gcc/);
  });

  it('unpacks with umoci into the LinuxKit kernel layout', async () => {
    const image = record('x86_64');
    const bundle = path.join(workspace.root, 'bundle');
    await execa('umoci', ['unpack', '--image', `${layoutOf('x86_64')}:${image.tags[0]}`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readdirSync(rootfs).sort()).toEqual(['System.map', 'kernel', 'kernel-builder', 'kernel-dev.tar', 'kernel-headers.tar', 'kernel.tar']);
    const modules = (await execa('tar', ['-tf', path.join(rootfs, 'kernel.tar')])).stdout.split('\n');
    expect(modules).toContain('lib/modules/6.12.118-linuxkit-virt/modules.dep');
    expect(modules.some((file) => file.endsWith('/virtio_blk.ko'))).toBe(true);
    const headers = (await execa('tar', ['-tf', path.join(rootfs, 'kernel-headers.tar')])).stdout;
    expect(headers).toMatch(/^usr\/include\/linux\/virtio_blk\.h$/m);
    const dev = (await execa('tar', ['-tf', path.join(rootfs, 'kernel-dev.tar')])).stdout;
    for (const file of ['.config', 'Module.symvers', 'Makefile', 'scripts/basic/fixdep', 'include/generated/autoconf.h']) {
      expect(dev).toContain(`usr/src/linux-headers-6.12.118-linuxkit-virt/${file}`);
    }
    const builder = fs.readFileSync(path.join(rootfs, 'kernel-builder'), 'utf8');
    expect(builder).toMatch(/^toolchain:x86_64:gcc/);
  });

  it.each(['x86_64', 'aarch64'])('builds hello_world.ko against kernel-dev.tar for %s and inserts it in the booted kernel', async (arch) => {
    const result = await workspace.nx(['run', 'module-hello-world:test', `--arch=${arch}`, '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/inserted hello_world, dmesg shows "Hello LinuxKit"/);
    const bootLog = fs.readFileSync(path.join(workspace.root, 'dist/modules/hello-world', `${arch}-boot.log`), 'utf8');
    expect(bootLog).toMatch(/Hello LinuxKit/);
  });

  it('names the file and the compiler error of a module that does not compile, and keeps nothing of it', async () => {
    workspace.write('modules/broken/module.yaml', 'kernel: 6.12-virt\nsource: src\nmodules: [broken]\n');
    workspace.write('modules/broken/src/Kbuild', 'obj-m := broken.o\n');
    workspace.write('modules/broken/src/broken.c', '#include <linux/module.h>\nstatic int __init broken_init(void) { return undefined_symbol; }\nmodule_init(broken_init);\nMODULE_LICENSE("GPL");\n');
    try {
      const result = await workspace.nx(['run', 'module-broken:build', '--arch=x86_64', '--excludeTaskDependencies', '--outputStyle=stream', '--skip-nx-cache'], { env, reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toMatch(/the module in modules\/broken\/src does not compile against 6\.12\.118-linuxkit-virt/);
      expect(result.all).toMatch(/modules\/broken\/src\/broken\.c:2:\d+: error: .undefined_symbol. undeclared/);
      expect(result.all).not.toMatch(/modules\/module-broken\/x86_64-\d+/); // never the scratch copy
      expect(result.all).toMatch(/fix: fix the compiler error above in modules\/broken\/src; read the full log: \S+module-broken\.log/);
      expect(fs.existsSync(path.join(workspace.root, 'dist/modules/broken/x86_64'))).toBe(false);
      // The scratch copy the compiler ran in is gone too.
      expect(fs.readdirSync(path.join(WORK_DIR, 'modules')).filter((dir) => dir.includes('broken')).flatMap((dir) => fs.readdirSync(path.join(WORK_DIR, 'modules', dir)))).toEqual([]);
    } finally {
      workspace.remove('modules/broken');
    }
  });

  it('refuses to boot a module built for another kernel version, naming the module and both releases', async () => {
    const ko = path.join(workspace.root, 'dist/modules/hello-world/x86_64/hello_world.ko');
    const saved = fs.readFileSync(ko);
    const bootLog = path.join(workspace.root, 'dist/modules/hello-world/x86_64-boot.log');
    const bootedAt = fs.statSync(bootLog).mtimeMs;
    // A real ELF object with a .modinfo section, as a module for another kernel would carry.
    const source = path.join(workspace.root, 'other-kernel.c');
    fs.writeFileSync(source, 'static const char v[] __attribute__((section(".modinfo"), used, aligned(1))) = "vermagic=6.1.0-28-cloud-amd64 SMP mod_unload ";\n');
    await execa('gcc', ['-c', source, '-o', ko]);
    try {
      const result = await workspace.nx(['run', 'module-hello-world:test', '--arch=x86_64', '--excludeTaskDependencies', '--outputStyle=stream', '--skip-nx-cache'], { env, reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toContain(`${ko} was built for kernel 6.1.0-28-cloud-amd64, not 6.12.118-linuxkit-virt`);
      expect(result.all).toContain('fix: run nx run module-hello-world:build --arch=x86_64');
      expect(result.all).not.toMatch(/inserted hello_world/);
      expect(fs.statSync(bootLog).mtimeMs).toBe(bootedAt); // refused before booting
    } finally {
      fs.writeFileSync(ko, saved);
      fs.rmSync(source);
    }
  });

  it('builds a module image from a Debian DKMS package (acpi-call-dkms): depmod run, modprobe finds it in the VM', async () => {
    const result = await workspace.nx(['run', 'module-acpi-call:test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/module image .*extra\/acpi_call, depmod run/);
    expect(result.all).toMatch(/modprobed acpi_call/);
    const modules = (await execa('tar', ['-tf', path.join(workspace.root, 'dist/modules/acpi-call/x86_64-modules.tar')])).stdout.split('\n');
    expect(modules).toEqual(expect.arrayContaining(['lib/modules/6.12.118-linuxkit-virt/extra/acpi_call.ko', 'lib/modules/6.12.118-linuxkit-virt/modules.dep']));
    const bootLog = fs.readFileSync(path.join(workspace.root, 'dist/modules/acpi-call/x86_64-boot.log'), 'utf8');
    expect(bootLog).toMatch(/KTEST-MODPROBE acpi_call ok/);
  });

  it('builds a static perf from the same source as the kernel-perf image, tagged like the kernel, and runs it in the VM', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:perf-test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/perf runs in 6\.12\.118-linuxkit-virt on x86_64/);
    const perfImage = JSON.parse(fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64/perf-image.json'), 'utf8'));
    expect(perfImage.tags).toEqual(record('x86_64').tags);
    const bootLog = fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64/perf-boot.log'), 'utf8');
    expect(bootLog).toMatch(/perf version 6\.12\.118/);
    expect(bootLog).toMatch(/task-clock/);
  });

  it('is a cache hit the second time', async () => {
    const bzImage = path.join(WORK_DIR, 'build/kernel-6.12-virt/x86_64/arch/x86/boot/bzImage');
    const before = fs.statSync(bzImage).mtimeMs;
    const result = await workspace.nx(['run', 'kernel-6.12-virt:build', '--arch=x86_64', '--outputStyle=stream'], { env });
    for (const target of ['configure', 'compile', 'package']) {
      expect(result.all).toMatch(new RegExp(`nx run kernel-6\\.12-virt:${target} --arch=x86_64\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`));
    }
    // No uncached task runs: configure fetches and patches itself only when it really runs.
    expect(result.all).not.toMatch(/nx run kernel-6\.12-virt:(fetch|patch)/);
    expect(fs.statSync(bzImage).mtimeMs).toBe(before);
  });

  it('builds and boots an EXTRA flavour of the series: its own tag, localversion and fragment', async () => {
    workspace.write('kernels/6.12-virt-foo/kernel.yaml', 'extends: 6.12-virt\nfragments: [config-foo]\ntest:\n  modules: [virtio_blk]\n');
    workspace.write('kernels/6.12-virt-foo/config-foo', '# crc_itu_t built in rather than a module\nCONFIG_CRC_ITU_T=y\n');
    await workspace.commitAll('a flavour');
    const result = await workspace.nx(['run', 'kernel-6.12-virt-foo:test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/booted 6\.12\.118-linuxkit-virt-foo on x86_64/);
    const image = JSON.parse(fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt-foo/x86_64/image.json'), 'utf8'));
    expect(image.tags[0]).toBe('6.12.118-virt-foo');
    expect(image.tags[1]).toMatch(/^6\.12\.118-virt-foo-[0-9a-f]{12}$/);
    expect(fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt-foo/x86_64/config'), 'utf8')).toContain('CONFIG_CRC_ITU_T=y');
  });

  it('configures every shipped series and variant for every arch: fixed points, and every fragment option survives', async () => {
    const projects = fs
      .readdirSync(path.join(REPO_ROOT, 'kernels'))
      .filter((dir) => dir !== 'common' && dir !== '6.12-virt')
      .map((dir) => `kernel-${dir}`);
    for (const arch of ['x86_64', 'aarch64']) {
      const result = await workspace.nx(['run-many', '-t', 'configure', '-p', projects.join(','), `--arch=${arch}`, '--outputStyle=stream', '--parallel=1'], { env });
      for (const project of projects) expect(result.all).toMatch(new RegExp(`${project.replace(/\./g, '\\.')}: config ${arch}: .*(fixed point|fragment\\(s\\) verified)`));
    }
  });
});
