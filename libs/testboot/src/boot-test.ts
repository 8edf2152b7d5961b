import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { BootArch } from './arch';
import { BootConsole, CommandRun, consoleTail, ModuleLoad, parseBootConsole } from './boot-console';
import { buildInitramfs, ExtraFile } from './initramfs';
import { MARKER, renderInitScript } from './init-script';
import { BootResult, bootKernel } from './qemu';

/** How much console a failure carries in its details: enough for a panic trace, short enough to read. */
export const CONSOLE_TAIL_LINES = 40;

export interface BootTestOptions {
  arch: BootArch;
  kernel: string;
  /** The image's kernel.tar. */
  modulesTar: string;
  /** Modules /init must modprobe successfully. */
  modules: readonly string[];
  /** Shell commands /init runs after the modules; each must exit 0. */
  commands?: readonly string[];
  /** The `uname -r` the kernel must report, e.g. 6.12.118-linuxkit. */
  expectRelease?: string;
  timeoutMs: number;
  /** Where the initramfs is built. */
  workDir: string;
  logFile: string;
  append?: string;
  memoryMb?: number;
  /** A static busybox for the guest architecture; /bin/busybox by default. */
  busybox?: string;
  extraFiles?: readonly ExtraFile[];
  signal?: AbortSignal;
}

export interface BootTestReport {
  arch: BootArch;
  /** `uname -r` */
  release: string;
  /** `uname -v` */
  version?: string;
  modules: ModuleLoad[];
  commands: CommandRun[];
  durationMs: number;
  initramfs: string;
  logFile: string;
}

export interface BootVerdictInput {
  arch: BootArch;
  boot: BootResult;
  parsed: BootConsole;
  commands: readonly string[];
  expectRelease?: string;
  /** The releases under lib/modules in the modules tar; the kernel must be one of them. */
  moduleReleases: readonly string[];
  timeoutMs: number;
  logFile: string;
}

/** The first reason a boot test failed, most fundamental first; undefined when it passed. */
export function bootTestFailure(input: BootVerdictInput): KernelBuildError | undefined {
  const { arch, boot, parsed, logFile } = input;
  const tail = consoleTail(boot.console, CONSOLE_TAIL_LINES);
  const readLog = `read the console log ${logFile}`;

  if (parsed.panic) return new KernelBuildError(`${arch} kernel panicked: ${parsed.panic}`, readLog, tail);
  if (boot.timedOut) {
    return new KernelBuildError(
      `${arch} boot timed out after ${input.timeoutMs / 1000} s before /init printed ${MARKER.done}`,
      `${readLog} to see where it stopped; if it was still making progress, raise timeoutMs (QEMU emulates the CPU here, without KVM)`,
      tail,
    );
  }
  if (!parsed.done) {
    return new KernelBuildError(
      `${arch} boot ended before /init printed ${MARKER.done} (QEMU exit code ${boot.exitCode ?? 'none: killed'})`,
      readLog,
      [boot.stderr.trim() && `qemu: ${boot.stderr.trim()}`, tail].filter(Boolean).join('\n'),
    );
  }
  if (!parsed.uname) return new KernelBuildError(`${arch} kernel booted but /init never reported uname -r`, readLog, tail);
  if (input.expectRelease !== undefined && parsed.uname !== input.expectRelease) {
    return new KernelBuildError(
      `${arch} kernel reports release ${parsed.uname}, expected ${input.expectRelease}`,
      'boot the kernel built for this image, and check CONFIG_LOCALVERSION in its config',
      tail,
    );
  }
  if (input.moduleReleases.length > 0 && !input.moduleReleases.includes(parsed.uname)) {
    return new KernelBuildError(
      `${arch} kernel reports release ${parsed.uname}, but the modules tar holds lib/modules/${input.moduleReleases.join(', lib/modules/')}`,
      'pass the kernel.tar built together with this kernel',
      tail,
    );
  }
  const failedModules = parsed.modules.filter((module) => !module.ok).map((module) => module.name);
  if (failedModules.length > 0) {
    return new KernelBuildError(
      `${failedModules.length === 1 ? 'module' : 'modules'} ${failedModules.join(', ')} failed to load on ${arch}`,
      `${readLog} for modprobe's and the kernel's messages; check the module is built (=m) and its dependencies are in kernel.tar`,
      tail,
    );
  }
  for (const [index, command] of input.commands.entries()) {
    const run = parsed.commands.find((candidate) => candidate.index === index);
    if (!run || run.exitCode === null) {
      return new KernelBuildError(`command ${index} on ${arch} did not finish: ${command}`, readLog, run?.output ?? tail);
    }
    if (run.exitCode !== 0) {
      return new KernelBuildError(`command ${index} on ${arch} exited ${run.exitCode}: ${command}`, `its output is above; ${readLog}`, run.output);
    }
  }
  return undefined;
}

/**
 * Boots a kernel image under QEMU with a busybox initramfs that loads the given modules and runs
 * the given commands, and throws a KernelBuildError saying what went wrong unless all of it worked.
 */
export async function runBootTest(options: BootTestOptions): Promise<BootTestReport> {
  const commands = options.commands ?? [];
  const initramfs = path.join(options.workDir, `initramfs-${options.arch}.cpio.gz`);
  const { moduleReleases } = await buildInitramfs({
    outFile: initramfs,
    busybox: options.busybox,
    modulesTar: options.modulesTar,
    init: renderInitScript(options.modules, commands),
    extraFiles: options.extraFiles,
    arch: options.arch,
  });
  const boot = await bootKernel({
    arch: options.arch,
    kernel: options.kernel,
    initrd: initramfs,
    append: options.append,
    memoryMb: options.memoryMb,
    timeoutMs: options.timeoutMs,
    logFile: options.logFile,
    doneMarker: MARKER.done,
    signal: options.signal,
  });
  const parsed = parseBootConsole(boot.console);
  const failure = bootTestFailure({
    arch: options.arch,
    boot,
    parsed,
    commands,
    expectRelease: options.expectRelease,
    moduleReleases,
    timeoutMs: options.timeoutMs,
    logFile: options.logFile,
  });
  if (failure) throw failure;
  return {
    arch: options.arch,
    release: parsed.uname as string,
    version: parsed.unameV,
    modules: parsed.modules,
    commands: parsed.commands,
    durationMs: boot.durationMs,
    initramfs,
    logFile: options.logFile,
  };
}
