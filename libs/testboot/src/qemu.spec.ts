import { readFile, rm, writeFile } from 'fs/promises';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { bootKernel, qemuArgs } from './qemu';
import { installFakeQemu, processIsGone, scratchDir, withPathFirst } from './testing/fixtures';

describe('qemuArgs', () => {
  it('boots x86_64 on the default PC machine with the console on ttyS0', () => {
    expect(qemuArgs({ arch: 'x86_64', kernel: '/k/bzImage', initrd: '/k/initrd.gz' })).toEqual([
      'qemu-system-x86_64',
      '-nographic',
      '-no-reboot',
      '-accel',
      'tcg',
      '-m',
      '512',
      '-kernel',
      '/k/bzImage',
      '-initrd',
      '/k/initrd.gz',
      '-append',
      'console=ttyS0 panic=-1',
    ]);
  });

  it('boots aarch64 on the virt machine with the console on ttyAMA0', () => {
    expect(qemuArgs({ arch: 'aarch64', kernel: '/k/Image.gz', initrd: '/k/initrd.gz', memoryMb: 1024, append: 'loglevel=4' })).toEqual([
      'qemu-system-aarch64',
      '-M',
      'virt',
      '-cpu',
      'cortex-a57',
      '-nographic',
      '-no-reboot',
      '-accel',
      'tcg',
      '-m',
      '1024',
      '-kernel',
      '/k/Image.gz',
      '-initrd',
      '/k/initrd.gz',
      '-append',
      'console=ttyAMA0 panic=-1 loglevel=4',
    ]);
  });

  it('boots riscv64 on the virt machine with the default firmware', () => {
    expect(qemuArgs({ arch: 'riscv64', kernel: '/k/Image', initrd: '/k/i' })).toEqual([
      'qemu-system-riscv64',
      '-M',
      'virt',
      '-bios',
      'default',
      '-nographic',
      '-no-reboot',
      '-accel',
      'tcg',
      '-m',
      '512',
      '-kernel',
      '/k/Image',
      '-initrd',
      '/k/i',
      '-append',
      'console=ttyS0 panic=-1',
    ]);
  });

  it('keeps a command line with spaces and quotes as one argument', () => {
    const argv = qemuArgs({ arch: 'x86_64', kernel: 'k', initrd: 'i', append: '  init=/init "a b" ; rm -rf /  ' });
    expect(argv.slice(-2)).toEqual(['-append', 'console=ttyS0 panic=-1 init=/init "a b" ; rm -rf /']);
  });

  it('refuses an unknown architecture', () => {
    expect(() => qemuArgs({ arch: 'mips' as never, kernel: 'k', initrd: 'i' })).toThrow("unsupported boot architecture 'mips'");
  });
});

describe('bootKernel with a fake qemu', () => {
  let dir: string;
  let fakeBin: string;
  let kernel: string;
  let initrd: string;
  let logFile: string;
  let caseNumber = 0;

  beforeAll(async () => {
    dir = await scratchDir('qemu');
    kernel = path.join(dir, 'bzImage');
    initrd = path.join(dir, 'initrd.gz');
    await writeFile(kernel, 'kernel');
    await writeFile(initrd, 'initrd');
  });
  beforeEach(() => {
    caseNumber += 1;
    fakeBin = path.join(dir, `bin-${caseNumber}`);
    logFile = path.join(dir, `logs-${caseNumber}`, 'console.log');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const boot = (overrides: Partial<Parameters<typeof bootKernel>[0]> = {}) =>
    withPathFirst(fakeBin, () => bootKernel({ arch: 'x86_64', kernel, initrd, timeoutMs: 10_000, logFile, ...overrides }));

  it('passes the argv from qemuArgs to the binary it finds on PATH', async () => {
    await installFakeQemu(fakeBin, [{ print: 'hello\r\n' }]);
    await boot({ append: 'quiet' });
    const argv = (await readFile(path.join(fakeBin, 'argv'), 'utf8')).trimEnd().split('\n');
    expect(['qemu-system-x86_64', ...argv]).toEqual(qemuArgs({ arch: 'x86_64', kernel, initrd, append: 'quiet' }));
  });

  it('returns the console and exit code when the guest powers off by itself', async () => {
    await installFakeQemu(fakeBin, [{ print: 'Linux version 6.12\r\nKTEST-DONE\r\nreboot: Power down\r\n' }]);
    const result = await boot({ doneMarker: 'KTEST-DONE' });
    expect(result).toEqual({
      console: 'Linux version 6.12\r\nKTEST-DONE\r\nreboot: Power down\r\n',
      durationMs: expect.any(Number),
      timedOut: false,
      sawDoneMarker: true,
      exitCode: 0,
      stderr: '',
    });
    expect(await readFile(logFile, 'utf8')).toBe(result.console);
  });

  it('kills a guest that halts instead of powering off, once the grace after the done marker is over', async () => {
    await installFakeQemu(fakeBin, [{ print: 'KTEST-DONE\r\nreboot: System halted\r\n' }], 'hang');
    const result = await boot({ doneMarker: 'KTEST-DONE', poweroffGraceMs: 300 });
    expect(result.timedOut).toBe(false);
    expect(result.sawDoneMarker).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.durationMs).toBeLessThan(5_000);
    expect(result.console).toContain('reboot: System halted');
  });

  it('sees a done marker split across two console writes', async () => {
    await installFakeQemu(fakeBin, [{ print: 'KTEST-DO' }, { sleepSeconds: 0.2 }, { print: 'NE\r\n' }], 'hang');
    const result = await boot({ doneMarker: 'KTEST-DONE', poweroffGraceMs: 100 });
    expect(result.sawDoneMarker).toBe(true);
    expect(result.timedOut).toBe(false);
  });

  it('is not fooled by a line that only contains the done marker', async () => {
    await installFakeQemu(fakeBin, [{ print: 'echo KTEST-DONE\r\n' }], 'hang');
    const result = await boot({ doneMarker: 'KTEST-DONE', timeoutMs: 800 });
    expect(result.sawDoneMarker).toBe(false);
    expect(result.timedOut).toBe(true);
  });

  it('kills the whole process group on timeout and keeps what the console printed', async () => {
    await installFakeQemu(fakeBin, [{ print: 'Linux version 6.12\r\nRun /init as init process\r\n' }], 'hang');
    const result = await boot({ doneMarker: 'KTEST-DONE', timeoutMs: 1_000 });
    expect(result.timedOut).toBe(true);
    expect(result.sawDoneMarker).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(result.durationMs).toBeGreaterThanOrEqual(900);
    expect(result.console).toBe('Linux version 6.12\r\nRun /init as init process\r\n');
    const sleepPid = Number(await readFile(path.join(fakeBin, 'sleep.pid'), 'utf8'));
    await expect(eventually(() => processIsGone(sleepPid))).resolves.toBe(true);
  });

  it('writes the console to the log while the guest is still running', async () => {
    await installFakeQemu(fakeBin, [{ print: 'early line\r\n' }], 'hang');
    const running = boot({ timeoutMs: 4_000 });
    await expect(eventually(async () => (await readFile(logFile, 'utf8').catch(() => '')).includes('early line'))).resolves.toBe(true);
    const result = await running;
    expect(result.timedOut).toBe(true);
  });

  it('does not decide anything from a successful exit code: a panic exits 0 too', async () => {
    await installFakeQemu(fakeBin, [{ print: '[ 1.0] Kernel panic - not syncing: No working init found.\r\n' }]);
    const result = await boot({ doneMarker: 'KTEST-DONE' });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, sawDoneMarker: false });
  });

  it("keeps QEMU's own error output apart from the console and appends it to the log", async () => {
    await installFakeQemu(fakeBin, [], { exitCode: 1, stderr: 'qemu: could not load kernel' });
    const result = await boot();
    expect(result).toMatchObject({ console: '', exitCode: 1, stderr: 'qemu: could not load kernel' });
    expect(await readFile(logFile, 'utf8')).toContain('--- qemu stderr ---\nqemu: could not load kernel');
  });

  it('stops and throws when aborted', async () => {
    await installFakeQemu(fakeBin, [{ print: 'booting\r\n' }], 'hang');
    const controller = new AbortController();
    const running = boot({ signal: controller.signal });
    await eventually(async () => (await readFile(logFile, 'utf8').catch(() => '')).includes('booting'));
    controller.abort();
    await expect(running).rejects.toThrow('x86_64 boot was aborted');
    const sleepPid = Number(await readFile(path.join(fakeBin, 'sleep.pid'), 'utf8'));
    await expect(eventually(() => processIsGone(sleepPid))).resolves.toBe(true);
  });

  it('names the Debian package when the QEMU binary is missing', async () => {
    const empty = path.join(dir, 'empty-path');
    const original = process.env.PATH;
    process.env.PATH = empty;
    try {
      const failure = bootKernel({ arch: 'aarch64', kernel, initrd, timeoutMs: 1_000, logFile });
      await expect(failure).rejects.toThrow(KernelBuildError);
      await expect(failure).rejects.toMatchObject({
        message: 'qemu-system-aarch64 is not installed (not found on PATH)',
        fix: expect.stringContaining('qemu-system-arm'),
      });
    } finally {
      process.env.PATH = original;
    }
  });

  it('says which file is missing before starting QEMU', async () => {
    await installFakeQemu(fakeBin, []);
    await expect(boot({ kernel: path.join(dir, 'no-bzImage') })).rejects.toThrow(/kernel image .*no-bzImage does not exist/);
    await expect(boot({ initrd: path.join(dir, 'no-initrd') })).rejects.toThrow(/initrd .*no-initrd does not exist/);
  });
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
