import { readFile, rm, writeFile } from 'fs/promises';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { parseBootConsole } from './boot-console';
import { BootVerdictInput, bootTestFailure, runBootTest } from './boot-test';
import { BootResult } from './qemu';
import { FIXTURE_RELEASE, installFakeQemu, makeModulesTar, scratchDir, withPathFirst } from './testing/fixtures';

const crlf = (lines: string[]) => lines.map((line) => `${line}\r\n`).join('');

const PASSING_CONSOLE = crlf([
  'Linux version 6.12.118-linuxkit',
  '[    0.9] Run /init as init process',
  `KTEST-UNAME ${FIXTURE_RELEASE}`,
  'KTEST-UNAMEV #1 SMP',
  'KTEST-MODPROBE crc_itu_t ok',
  'KTEST-CMD-BEGIN 0',
  'console=ttyS0 panic=-1',
  'KTEST-CMD-END 0 0',
  'KTEST-DONE',
  'reboot: Power down',
]);

function verdictInput(consoleText: string, overrides: Partial<BootVerdictInput> = {}, boot: Partial<BootResult> = {}): BootVerdictInput {
  const bootResult: BootResult = { console: consoleText, durationMs: 2000, timedOut: false, sawDoneMarker: true, exitCode: 0, stderr: '', ...boot };
  return {
    arch: 'x86_64',
    boot: bootResult,
    parsed: parseBootConsole(consoleText),
    commands: ['cat /proc/cmdline'],
    expectRelease: FIXTURE_RELEASE,
    moduleReleases: [FIXTURE_RELEASE],
    timeoutMs: 120_000,
    logFile: '/work/logs/boot-x86_64.log',
    ...overrides,
  };
}

describe('bootTestFailure', () => {
  it('passes a boot that reported everything it was asked', () => {
    expect(bootTestFailure(verdictInput(PASSING_CONSOLE))).toBeUndefined();
  });

  it('names the architecture and the timeout, carries the last 40 console lines and points at the log', () => {
    const noisyBoot = crlf(Array.from({ length: 100 }, (_, index) => `[ ${index}.0] line ${index}`));
    const failure = bootTestFailure(verdictInput(noisyBoot, {}, { timedOut: true, sawDoneMarker: false, exitCode: null }));
    expect(failure).toBeInstanceOf(KernelBuildError);
    expect(failure?.message).toBe('x86_64 boot timed out after 120 s before /init printed KTEST-DONE');
    expect(failure?.details?.split('\n')).toEqual(Array.from({ length: 40 }, (_, index) => `[ ${index + 60}.0] line ${index + 60}`));
    expect(failure?.fix).toContain('/work/logs/boot-x86_64.log');
    expect(failure?.fix).toContain('timeoutMs');
  });

  it('reports a panic by its panic line, even when QEMU exited 0', () => {
    const failure = bootTestFailure(
      verdictInput(crlf(['[ 0.9] Run /init as init process', '[ 1.0] Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.']), {}, { sawDoneMarker: false }),
    );
    expect(failure?.message).toBe('x86_64 kernel panicked: Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.');
  });

  it('prefers the panic over the timeout it caused', () => {
    const failure = bootTestFailure(verdictInput('Kernel panic - not syncing: oops\r\n', {}, { timedOut: true }));
    expect(failure?.message).toContain('panicked');
  });

  it("reports QEMU ending before /init finished, with QEMU's own error", () => {
    const failure = bootTestFailure(verdictInput('', {}, { exitCode: 1, sawDoneMarker: false, stderr: 'qemu-system-x86_64: could not load kernel\n' }));
    expect(failure?.message).toBe('x86_64 boot ended before /init printed KTEST-DONE (QEMU exit code 1)');
    expect(failure?.details).toBe('qemu: qemu-system-x86_64: could not load kernel');
  });

  it('reports a missing uname', () => {
    expect(bootTestFailure(verdictInput(crlf(['KTEST-DONE'])))?.message).toBe('x86_64 kernel booted but /init never reported uname -r');
  });

  it('reports a release other than the expected one', () => {
    const failure = bootTestFailure(verdictInput(PASSING_CONSOLE, { expectRelease: '6.12.118-linuxkit-dbg' }));
    expect(failure?.message).toBe('x86_64 kernel reports release 6.12.118-linuxkit, expected 6.12.118-linuxkit-dbg');
  });

  it('reports a kernel whose release has no modules in the modules tar', () => {
    const failure = bootTestFailure(verdictInput(PASSING_CONSOLE, { expectRelease: undefined, moduleReleases: ['6.1.192-linuxkit'] }));
    expect(failure?.message).toBe('x86_64 kernel reports release 6.12.118-linuxkit, but the modules tar holds lib/modules/6.1.192-linuxkit');
    expect(failure?.fix).toContain('kernel.tar built together with this kernel');
  });

  it('names every module that failed to load', () => {
    const consoleText = PASSING_CONSOLE.replace('KTEST-MODPROBE crc_itu_t ok', 'KTEST-MODPROBE crc_itu_t fail\r\nKTEST-MODPROBE virtio_blk ok\r\nKTEST-MODPROBE zfs fail');
    const failure = bootTestFailure(verdictInput(consoleText));
    expect(failure?.message).toBe('modules crc_itu_t, zfs failed to load on x86_64');
    expect(failure?.fix).toContain('/work/logs/boot-x86_64.log');
  });

  it('reports a command that exited non-zero with its output', () => {
    const consoleText = PASSING_CONSOLE.replace('KTEST-CMD-END 0 0', 'cat: /proc/cmdline: No such file\r\nKTEST-CMD-END 0 1');
    const failure = bootTestFailure(verdictInput(consoleText));
    expect(failure?.message).toBe('command 0 on x86_64 exited 1: cat /proc/cmdline');
    expect(failure?.details).toBe('console=ttyS0 panic=-1\ncat: /proc/cmdline: No such file');
  });

  it('reports a command that never reported back', () => {
    const failure = bootTestFailure(verdictInput(PASSING_CONSOLE, { commands: ['cat /proc/cmdline', 'true'] }));
    expect(failure?.message).toBe('command 1 on x86_64 did not finish: true');
  });
});

describe('runBootTest with a fake qemu', () => {
  let dir: string;
  let modulesTar: string;
  let kernel: string;

  beforeAll(async () => {
    dir = await scratchDir('boot-test');
    modulesTar = await makeModulesTar(dir);
    kernel = path.join(dir, 'bzImage');
    await writeFile(kernel, 'kernel');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const options = (name: string) => ({
    arch: 'x86_64' as const,
    kernel,
    modulesTar,
    modules: ['crc_itu_t'],
    commands: ['cat /proc/cmdline'],
    expectRelease: FIXTURE_RELEASE,
    timeoutMs: 5_000,
    workDir: path.join(dir, name),
    logFile: path.join(dir, name, 'console.log'),
  });

  it('builds the initramfs with the rendered /init, boots it and reports what the guest printed', async () => {
    const fakeBin = path.join(dir, 'bin-pass');
    await installFakeQemu(fakeBin, [{ print: PASSING_CONSOLE }]);
    const report = await withPathFirst(fakeBin, () => runBootTest(options('pass')));
    expect(report).toEqual({
      arch: 'x86_64',
      release: FIXTURE_RELEASE,
      version: '#1 SMP',
      modules: [{ name: 'crc_itu_t', ok: true }],
      commands: [{ index: 0, output: 'console=ttyS0 panic=-1', exitCode: 0 }],
      durationMs: expect.any(Number),
      initramfs: path.join(dir, 'pass', 'initramfs-x86_64.cpio.gz'),
      logFile: path.join(dir, 'pass', 'console.log'),
    });
    const argv = (await readFile(path.join(fakeBin, 'argv'), 'utf8')).split('\n');
    expect(argv[argv.indexOf('-initrd') + 1]).toBe(report.initramfs);
    const { stdout: init } = await execa('cpio', ['-i', '--quiet', '--to-stdout', 'init'], { input: gunzipSync(await readFile(report.initramfs)) });
    expect(init).toContain('if modprobe crc_itu_t; then');
    expect(init).toContain('cat /proc/cmdline');
  });

  it('throws the panic line when the kernel panics', async () => {
    const fakeBin = path.join(dir, 'bin-panic');
    await installFakeQemu(fakeBin, [{ print: crlf(['Run /init as init process', 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000']) }]);
    await expect(withPathFirst(fakeBin, () => runBootTest(options('panic')))).rejects.toThrow(
      'x86_64 kernel panicked: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000',
    );
  });

  it('throws a timeout error naming the arch, the timeout and the log', async () => {
    const fakeBin = path.join(dir, 'bin-hang');
    await installFakeQemu(fakeBin, [{ print: crlf(['Linux version 6.12.118-linuxkit', 'Run /init as init process']) }], 'hang');
    const failure = withPathFirst(fakeBin, () => runBootTest({ ...options('hang'), timeoutMs: 1_000 }));
    await expect(failure).rejects.toMatchObject({
      message: 'x86_64 boot timed out after 1 s before /init printed KTEST-DONE',
      details: 'Linux version 6.12.118-linuxkit\nRun /init as init process',
      fix: expect.stringContaining(path.join(dir, 'hang', 'console.log')),
    });
  });

  it('names the Debian package when qemu is not installed', async () => {
    const original = process.env.PATH;
    process.env.PATH = path.join(dir, 'nothing-here');
    try {
      await expect(runBootTest(options('no-qemu'))).rejects.toMatchObject({ fix: expect.stringContaining('apt-get install qemu-system-x86') });
    } finally {
      process.env.PATH = original;
    }
  });

  it('refuses to boot aarch64 with the host x86_64 busybox', async () => {
    await expect(runBootTest({ ...options('arm'), arch: 'aarch64' })).rejects.toThrow(/not for aarch64/);
  });
});
