import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// The -dbg and -rt variants, on the small test series so they compile in minutes: each is built,
// packaged and booted in qemu, and the booted kernel shows what the variant is for. They share the
// download, the patched tree and ccache with the other specs through the repository's .kbuild.
const WORK_DIR = process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild');
const env = { KERNEL_WORK_DIR: WORK_DIR };

describe('variants of the test series, built and booted', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('variants', ['kernels/6.12', 'kernels/6.12-virt', 'kernels/6.1', 'kernels/6.1-rt']);
    // A small 6.1 VM kernel on top of 6.1-rt, so the RT patch set is booted, not only configured.
    fs.cpSync(path.join(REPO_ROOT, 'e2e/fixtures/kernels/6.1-rt-virt'), path.join(workspace.root, 'kernels/6.1-rt-virt'), { recursive: true });
    // The same debug fragment as the shipped -dbg variants.
    workspace.write(
      'kernels/6.12-virt-dbg/kernel.yaml',
      ['extends: 6.12-virt', 'fragments: [../common/config-dbg]', 'debug: true', 'test:', '  modules: [virtio_blk]', "  commands: ['test -e /proc/lockdep', 'test -d /sys/module/kgdboc']", '  timeoutSeconds: 300', ''].join('\n'),
    );
    // The RT switch of 6.12-rt without its NO_HZ_FULL, which needs SMP and the test series is UP.
    workspace.write('kernels/6.12-virt-rt/config-rt', '# Preempt-RT by configuration\nCONFIG_EXPERT=y\nCONFIG_PREEMPT_RT=y\n');
    workspace.write('kernels/6.12-virt-rt/kernel.yaml', ['extends: 6.12-virt', 'fragments: [config-rt]', 'test:', '  modules: [virtio_blk]', "  commands: ['uname -v | grep -q PREEMPT_RT']", ''].join('\n'));
    await workspace.commitAll('dbg and rt variants of the test series');
  });

  afterAll(() => workspace?.dispose());

  const dist = (dir: string) => path.join(workspace.root, 'dist/kernels', dir, 'x86_64');

  it('boots the -dbg variant with lockdep and KGDB, and ships /vmlinux with its debug info', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt-dbg:test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/booted 6\.12\.118-linuxkit-virt-dbg on x86_64/);
    expect(fs.readFileSync(path.join(dist('6.12-virt-dbg'), 'boot.log'), 'utf8')).toMatch(/KTEST-CMD-END 0 0[\s\S]*KTEST-CMD-END 1 0/);

    const image = JSON.parse(fs.readFileSync(path.join(dist('6.12-virt-dbg'), 'image.json'), 'utf8'));
    expect(image.tags[0]).toBe('6.12.118-virt-dbg');
    expect(image.tags[1]).toMatch(/^6\.12\.118-virt-dbg-[0-9a-f]{12}$/);
    const config = fs.readFileSync(path.join(dist('6.12-virt-dbg'), 'config'), 'utf8');
    expect(config).toContain('CONFIG_PROVE_LOCKING=y');
    expect(config).toContain('# CONFIG_PANIC_ON_OOPS is not set');

    // /vmlinux is in the image: unpack the layout the way LinuxKit would and look at the ELF.
    const bundle = path.join(workspace.root, 'bundle-dbg');
    await execa('umoci', ['unpack', '--image', `${path.join(dist('6.12-virt-dbg'), 'oci')}:${image.tags[0]}`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(fs.readdirSync(rootfs)).toContain('vmlinux');
    const sections = (await execa('readelf', ['-S', '-W', path.join(rootfs, 'vmlinux')])).stdout;
    expect(sections).toContain('.debug_info');
  });

  it('boots the -rt variant, which reports PREEMPT_RT in uname -v', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt-rt:test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/booted 6\.12\.118-linuxkit-virt-rt on x86_64/);
    expect(fs.readFileSync(path.join(dist('6.12-virt-rt'), 'boot.log'), 'utf8')).toMatch(/KTEST-UNAMEV .*PREEMPT_RT[\s\S]*KTEST-CMD-END 0 0/);
    expect(JSON.parse(fs.readFileSync(path.join(dist('6.12-virt-rt'), 'image.json'), 'utf8')).tags[0]).toBe('6.12.118-virt-rt');
  });

  it('boots 6.1 with the RT patch set applied as patches, which reports PREEMPT_RT in uname -v', async () => {
    const result = await workspace.nx(['run', 'kernel-6.1-rt-virt:test', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(result.all).toMatch(/tree \S+kernel-6\.1-rt-virt: 66 patch\(es\)/);
    expect(result.all).toMatch(/booted 6\.1\.192-rt\d+-linuxkit-rt-virt on x86_64/);
    expect(fs.readFileSync(path.join(dist('6.1-rt-virt'), 'boot.log'), 'utf8')).toMatch(/KTEST-UNAMEV .*PREEMPT_RT[\s\S]*KTEST-CMD-END 0 0/);
  });
});
