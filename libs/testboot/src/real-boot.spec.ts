import { rm } from 'fs/promises';
import * as path from 'path';
import { BootArch } from './arch';
import { runBootTest } from './boot-test';
import { scratchDir } from './testing/fixtures';

// A real kernel takes minutes to build, so this runs only when one is handed in:
//   KTEST_KERNEL=…/bzImage KTEST_MODULES_TAR=…/kernel.tar [KTEST_ARCH=x86_64] [KTEST_RELEASE=6.12.118-linuxkit]
//   [KTEST_MODULES=virtio_blk,crc_itu_t] npx jest libs/testboot/src/real-boot.spec.ts
const kernel = process.env.KTEST_KERNEL;
const modulesTar = process.env.KTEST_MODULES_TAR;
const arch = (process.env.KTEST_ARCH ?? 'x86_64') as BootArch;
const modules = (process.env.KTEST_MODULES ?? 'virtio_blk,crc_itu_t').split(',').filter(Boolean);
const describeRealBoot = kernel && modulesTar ? describe : describe.skip;

describeRealBoot(`a real ${arch} kernel under QEMU (skipped unless KTEST_KERNEL and KTEST_MODULES_TAR are set)`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir('real-boot');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('boots to /init, loads the modules and runs commands', async () => {
    const report = await runBootTest({
      arch,
      kernel: kernel as string,
      modulesTar: modulesTar as string,
      modules,
      commands: ['cat /proc/cmdline', 'cat /proc/modules', `test -d /lib/modules/$(uname -r)`],
      expectRelease: process.env.KTEST_RELEASE,
      timeoutMs: 240_000,
      workDir: dir,
      logFile: path.join(dir, 'console.log'),
    });
    expect(report.modules).toEqual(modules.map((name) => ({ name, ok: true })));
    expect(report.commands[0].output).toContain('panic=-1');
    for (const name of modules) expect(report.commands[1].output).toContain(name);
    console.log(`${arch} booted ${report.release} to KTEST-DONE in ${report.durationMs} ms`);
  }, 300_000);
});
