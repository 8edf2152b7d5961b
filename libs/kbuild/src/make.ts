import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { kernelArchProfile } from './arch';
import { Toolchain } from './toolchain';

export interface BuildIdentity {
  /** KBUILD_BUILD_TIMESTAMP: pinned (e.g. the commit time) so the same inputs give the same kernel. */
  timestamp: string;
  user: string;
  host: string;
}

export interface MakeInvocation {
  srcDir: string;
  /** O= dir; for an external module build (M=) against a headers tree, omit it. */
  buildDir?: string;
  toolchain: Toolchain;
  targets: string[];
  /** Extra VAR=value arguments, e.g. INSTALL_MOD_PATH. */
  variables?: Record<string, string>;
  jobs?: number;
  identity?: BuildIdentity;
  /** Where ccache keeps paths relative to, so trees in different places share hits. */
  ccacheBaseDir?: string;
  logFile: string;
  /** Short progress lines for the terminal. */
  onProgress?: (line: string) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
  /** menuconfig and friends: make talks to the user's terminal, nothing is logged. */
  interactive?: boolean;
}

export const DEFAULT_IDENTITY: BuildIdentity = { timestamp: '1970-01-01T00:00:00Z', user: 'linuxkit', host: 'linuxkit' };

export function defaultJobs(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** The argv and environment of one make run (pure, so the exact command is unit-tested). */
export function makeCommand(invocation: Omit<MakeInvocation, 'logFile'>): { args: string[]; env: Record<string, string> } {
  const { toolchain } = invocation;
  const profile = kernelArchProfile(toolchain.arch);
  const identity = invocation.identity ?? DEFAULT_IDENTITY;
  const launcher = toolchain.ccache ? 'ccache ' : '';
  const dirs = invocation.buildDir ? [invocation.srcDir, invocation.buildDir] : [invocation.srcDir];
  const prefixMaps = dirs.map((dir) => `-ffile-prefix-map=${path.resolve(dir)}/=`).join(' ');
  const args = [
    '-C',
    invocation.srcDir,
    ...(invocation.buildDir ? [`O=${path.resolve(invocation.buildDir)}`] : []),
    `ARCH=${profile.karch}`,
    ...(toolchain.crossCompile ? [`CROSS_COMPILE=${toolchain.crossCompile}`] : []),
    ...(toolchain.ccache ? [`CC=${launcher}${toolchain.gcc}`, `HOSTCC=${launcher}gcc`] : []),
    `KCFLAGS=${prefixMaps}`,
    `-j${invocation.jobs ?? defaultJobs()}`,
    ...Object.entries(invocation.variables ?? {}).map(([name, value]) => `${name}=${value}`),
    ...invocation.targets,
  ];
  const env: Record<string, string> = {
    KBUILD_BUILD_TIMESTAMP: identity.timestamp,
    KBUILD_BUILD_USER: identity.user,
    KBUILD_BUILD_HOST: identity.host,
    // An unrelated ARCH/CROSS_COMPILE in the user's shell must not leak into a cross build.
    ARCH: profile.karch,
    CROSS_COMPILE: toolchain.crossCompile,
    LC_ALL: 'C',
  };
  if (toolchain.ccache && invocation.ccacheBaseDir) env.CCACHE_BASEDIR = path.resolve(invocation.ccacheBaseDir);
  return { args, env };
}

const TAIL_LINES = 30;
const MAKE_PID_FILE = '.kbuild-make.pid';
// util-linux's setpriv asks the kernel to send make SIGTERM when this process dies, even by
// SIGKILL; make then stops its jobs and deletes the targets it was writing, as on Ctrl-C.
const SETPRIV = '/usr/bin/setpriv';

/** The command that runs make: under setpriv --pdeathsig where there is one. */
export function makeLauncher(args: string[], interactive = false): { command: string; args: string[] } {
  if (interactive || !fs.existsSync(SETPRIV)) return { command: 'make', args };
  return { command: SETPRIV, args: ['--pdeathsig', 'SIGTERM', '--', 'make', ...args] };
}

/**
 * A make whose Node parent was SIGKILLed keeps running in its own process group. Before a new make
 * in the same build dir, stop such an orphan, or two makes would write the same objects.
 */
export function stopOrphanedMake(dir: string, log?: (line: string) => void): void {
  const file = path.join(dir, MAKE_PID_FILE);
  if (!fs.existsSync(file)) return;
  const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  fs.rmSync(file, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // gone
  }
  if (!command.split('\0')[0].endsWith('make')) return; // the pid was reused by something else
  log?.(`stopping make (pid ${pid}) left running by an interrupted build in ${dir}`);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already exited
  }
}

/**
 * Runs make in its own process group with the full log in a file and short progress lines on the
 * terminal. An abort (Ctrl-C forwarded by the executor) kills the whole group, so no compiler keeps
 * writing into the build dir after we return.
 */
export async function runMake(invocation: MakeInvocation): Promise<{ durationMs: number }> {
  const { args, env } = makeCommand(invocation);
  fs.mkdirSync(path.dirname(invocation.logFile), { recursive: true });
  if (invocation.buildDir) fs.mkdirSync(invocation.buildDir, { recursive: true });
  const log = fs.createWriteStream(invocation.logFile, { flags: 'a' });
  log.write(`$ make ${args.join(' ')}\n`);
  const started = Date.now();
  const pidDir = invocation.buildDir ?? path.dirname(invocation.logFile);
  if (!invocation.interactive) stopOrphanedMake(pidDir, invocation.onProgress);
  const launcher = makeLauncher(args, invocation.interactive);
  const child = spawn(launcher.command, launcher.args, {
    env: { ...process.env, ...env },
    // An interactive make keeps the terminal's process group so it can read the keyboard.
    detached: !invocation.interactive,
    stdio: invocation.interactive ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let compiled = 0;
  let lastStep = '';
  const remember = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      const step = /^\s{2}([A-Z][A-Z0-9_]*)\s+(\S+)/.exec(line);
      if (step) {
        if (step[1] === 'CC' || step[1] === 'CC [M]' || step[1] === 'AS') compiled++;
        lastStep = `${step[1]} ${step[2]}`;
      }
    }
  };
  if (!invocation.interactive && child.pid) fs.writeFileSync(path.join(pidDir, MAKE_PID_FILE), `${child.pid}\n`);
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(invocation.interactive ? child.pid : -child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onAbort = () => {
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), 5000).unref();
  };
  invocation.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = invocation.onProgress
    ? setInterval(() => {
        const seconds = Math.round((Date.now() - started) / 1000);
        invocation.onProgress?.(`  make ${invocation.targets.join(' ')}: ${compiled} objects, ${seconds}s${lastStep ? ` (${lastStep})` : ''}`);
      }, invocation.progressIntervalMs ?? 15000)
    : undefined;

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (progress) clearInterval(progress);
  if (!invocation.interactive) fs.rmSync(path.join(pidDir, MAKE_PID_FILE), { force: true });
  invocation.signal?.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => log.end(resolve));

  if (outcome.error) {
    throw new KernelBuildError(`could not run make: ${outcome.error.message}`, 'install it: apt-get install make build-essential');
  }
  if (invocation.signal?.aborted) {
    throw new KernelBuildError(`make ${invocation.targets.join(' ')} was interrupted`, 'run the target again; make resumes where it stopped');
  }
  if (outcome.code !== 0) {
    throw new KernelBuildError(
      `make ${invocation.targets.join(' ')} failed for ${invocation.toolchain.arch} (exit ${outcome.code ?? outcome.signal})`,
      `read the full log: ${invocation.logFile}`,
      tail.join('\n'),
    );
  }
  return { durationMs: Date.now() - started };
}
