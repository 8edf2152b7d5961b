import { constants as fsConstants, createWriteStream, WriteStream } from 'fs';
import { access, mkdir } from 'fs/promises';
import * as path from 'path';
import { once } from 'events';
import { Readable } from 'stream';
import { performance } from 'perf_hooks';
import { StringDecoder } from 'string_decoder';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { archProfile, BootArch } from './arch';
import { isMarkerLine } from './boot-console';

export const DEFAULT_MEMORY_MB = 512;
export const DEFAULT_POWEROFF_GRACE_MS = 3000;

export interface QemuBootOptions {
  arch: BootArch;
  /** bzImage (x86_64), Image/Image.gz (aarch64, riscv64). */
  kernel: string;
  initrd: string;
  /** Extra kernel command line, after the console and panic settings. */
  append?: string;
  memoryMb?: number;
}

/**
 * The full QEMU argv, binary first. The serial console goes to stdout (-nographic); panic=-1
 * makes a panicking kernel reboot at once and -no-reboot turns that reboot into QEMU exiting,
 * so a panic ends the run instead of waiting for the timeout.
 */
export function qemuArgs(options: QemuBootOptions): string[] {
  const profile = archProfile(options.arch);
  const append = [`console=${profile.console}`, 'panic=-1', options.append?.trim()].filter(Boolean).join(' ');
  return [
    profile.qemuBinary,
    ...profile.machineArgs,
    '-nographic',
    '-no-reboot',
    // KVM is not available on the build machines, and TCG boots identically everywhere.
    '-accel',
    'tcg',
    '-m',
    String(options.memoryMb ?? DEFAULT_MEMORY_MB),
    '-kernel',
    options.kernel,
    '-initrd',
    options.initrd,
    '-append',
    append,
  ];
}

export interface BootKernelOptions extends QemuBootOptions {
  timeoutMs: number;
  /** The serial console is written here as it arrives, so a hung boot can be watched with tail -f. */
  logFile: string;
  /** A console line that is exactly this text ends the boot. */
  doneMarker?: string;
  signal?: AbortSignal;
  /** How long the guest may take to power off after doneMarker before QEMU is killed. */
  poweroffGraceMs?: number;
}

export interface BootResult {
  /** Everything the guest wrote to its serial console. */
  console: string;
  durationMs: number;
  timedOut: boolean;
  /** Whether doneMarker appeared (false when none was given). */
  sawDoneMarker: boolean;
  /** QEMU's exit code, null when it was killed. Says nothing about the guest: QEMU exits 0 on a panic too. */
  exitCode: number | null;
  /** QEMU's own diagnostics (bad kernel file, unsupported option …). */
  stderr: string;
}

async function assertReadable(file: string, what: string, fix: string): Promise<void> {
  try {
    await access(file, fsConstants.R_OK);
  } catch {
    throw new KernelBuildError(`${what} ${file} does not exist or is not readable`, fix);
  }
}

function killProcessGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is the goal.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Waits until a stream has delivered all it has, but no longer than `limitMs`: a process that left the group may hold it open. */
async function drain(stream: Readable, limitMs: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([once(stream, 'close'), new Promise((resolve) => (timer = setTimeout(resolve, limitMs)))]);
  clearTimeout(timer);
  stream.destroy();
}

async function closeLog(log: WriteStream, stderr: string): Promise<void> {
  if (stderr) log.write(`\n--- qemu stderr ---\n${stderr}`);
  log.end();
  await once(log, 'close');
}

/**
 * Boots a kernel with an initrd under QEMU and returns its console. The boot ends when the guest
 * powers off, when doneMarker appears (the guest then gets a grace period to power off, since a
 * kernel without ACPI halts instead), on timeout or on abort; ending kills QEMU's whole process
 * group. Whether the guest succeeded is for the caller to read from the console.
 */
export async function bootKernel(options: BootKernelOptions): Promise<BootResult> {
  const argv = qemuArgs(options);
  const profile = archProfile(options.arch);
  await assertReadable(options.kernel, 'kernel image', 'build the kernel first, or pass the path of its bzImage / Image.gz');
  await assertReadable(options.initrd, 'initrd', 'build the initramfs first (buildInitramfs)');
  if (options.signal?.aborted) throw new KernelBuildError(`${options.arch} boot was aborted before it started`);

  await mkdir(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile);
  await once(log, 'open').catch((error: Error) => {
    throw new KernelBuildError(`cannot write the boot log ${options.logFile}: ${error.message}`, 'pass a logFile in a writable directory');
  });

  const started = performance.now();
  // Its own process group, so a timeout can kill QEMU and anything it started in one signal.
  const child = execa(argv[0], argv.slice(1), { detached: true, stdin: 'ignore', buffer: false, reject: false, cleanup: false });
  const killQemu = () => killProcessGroup(child.pid, 'SIGKILL');

  let consoleText = '';
  let partialLine = '';
  let stderr = '';
  let sawDoneMarker = false;
  let timedOut = false;
  let aborted = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const decoder = new StringDecoder('utf8');

  child.stdout?.on('data', (chunk: Buffer) => {
    if (log.writableEnded) return;
    log.write(chunk);
    const text = decoder.write(chunk);
    consoleText += text;
    if (!options.doneMarker || sawDoneMarker) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    if (lines.some((line) => isMarkerLine(line, options.doneMarker as string))) {
      sawDoneMarker = true;
      graceTimer = setTimeout(killQemu, options.poweroffGraceMs ?? DEFAULT_POWEROFF_GRACE_MS);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  const timeoutTimer = setTimeout(() => {
    if (sawDoneMarker) return;
    timedOut = true;
    killQemu();
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killQemu();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A detached QEMU would outlive this process; a normal exit at least takes it along.
  process.once('exit', killQemu);

  try {
    const exit = await child;
    const durationMs = Math.round(performance.now() - started);
    // Whatever else is left in the group may still hold the console pipe open.
    killQemu();
    if (child.stdout) await drain(child.stdout, 1000);
    consoleText += decoder.end();

    const spawnError = (exit as { code?: unknown }).code;
    if (spawnError === 'ENOENT') {
      throw new KernelBuildError(
        `${profile.qemuBinary} is not installed (not found on PATH)`,
        `install the Debian package ${profile.qemuPackage}: apt-get install ${profile.qemuPackage}`,
      );
    }
    if (typeof spawnError === 'string') {
      throw new KernelBuildError(`cannot run ${profile.qemuBinary}: ${spawnError}`, `check that ${profile.qemuBinary} on PATH is executable`);
    }
    if (aborted) throw new KernelBuildError(`${options.arch} boot was aborted`, undefined, consoleText);
    return { console: consoleText, durationMs, timedOut, sawDoneMarker, exitCode: exit.exitCode ?? null, stderr };
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(graceTimer);
    options.signal?.removeEventListener('abort', onAbort);
    process.removeListener('exit', killQemu);
    await closeLog(log, stderr);
  }
}
