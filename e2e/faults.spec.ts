import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// Faults during a real build: Ctrl-C in the middle of make, and two builds of one project at once.
const WORK_DIR = process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild');
const nxEnv = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NO_COLOR: '1', KERNEL_WORK_DIR: WORK_DIR };

function startNx(workspace: TempWorkspace, args: string[]): execa.ExecaChildProcess {
  // detached: its own process group, so a signal to -pid reaches it like Ctrl-C in a terminal.
  return execa(path.join(REPO_ROOT, 'node_modules/.bin/nx'), [...args, '--outputStyle=stream'], { cwd: workspace.root, env: nxEnv, all: true, reject: false, detached: true });
}

async function waitForOutput(child: execa.ExecaChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in:\n${seen}`)), timeoutMs);
    child.all?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/** Sends `signal` to the whole nx process group as soon as `dir` holds an entry starting with `prefix`. */
async function signalWhenEntryAppears(child: execa.ExecaChildProcess, dir: string, prefix: string, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    if (names.some((name) => name.startsWith(prefix))) {
      process.kill(-(child.pid as number), signal);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${dir} never held ${prefix}* before the run ended (exit ${child.exitCode})`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until no live process is writing a `.<name>.partial-<pid>-…` staging dir in `dir` (a killed one leaves its dir behind). */
async function waitForWritersToEnd(dir: string, timeoutMs: number): Promise<void> {
  const writers = () =>
    fs
      .readdirSync(dir)
      .map((name) => /\.partial-(\d+)-/.exec(name)?.[1])
      .filter((pid): pid is string => pid !== undefined && fs.existsSync(`/proc/${pid}`));
  const deadline = Date.now() + timeoutMs;
  while (writers().length > 0) {
    if (Date.now() > deadline) throw new Error(`processes ${writers().join(', ')} still write in ${dir}`);
    await sleep(100);
  }
}

async function makeProcessesFor(buildDir: string): Promise<string[]> {
  const { stdout } = await execa('pgrep', ['-af', `O=${buildDir}`], { reject: false });
  return stdout.split('\n').filter((line) => line && !line.includes('pgrep'));
}

describe('faults during a build', () => {
  let workspace: TempWorkspace;
  const buildDir = path.join(WORK_DIR, 'build/kernel-6.12-virt/x86_64');

  beforeAll(async () => {
    workspace = await createKernelWorkspace('faults', ['kernels/6.12', 'kernels/6.12-virt']);
  });

  afterAll(() => workspace?.dispose());

  it('stops make entirely on Ctrl-C, fails, leaves no half artifacts, and the rerun recovers', async () => {
    const child = startNx(workspace, ['run', 'kernel-6.12-virt:compile', '--arch=x86_64', '--skip-nx-cache']);
    await waitForOutput(child, /compiling kernel-6\.12-virt for x86_64/, 15 * 60 * 1000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    process.kill(-(child.pid as number), 'SIGINT');
    const result = await child;
    expect(result.exitCode).not.toBe(0);
    // Give the killed group a moment, then nothing may still compile in that build dir.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(await makeProcessesFor(buildDir)).toEqual([]);
    const dist = path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64');
    const leftovers = fs.existsSync(dist) ? fs.readdirSync(dist).filter((name) => name.includes('.tmp-')) : [];
    expect(leftovers).toEqual([]);

    const rerun = await workspace.nx(['run', 'kernel-6.12-virt:compile', '--arch=x86_64', '--outputStyle=stream'], { env: { KERNEL_WORK_DIR: WORK_DIR } });
    expect(rerun.all).toMatch(/kernel 6\.12\.118-linuxkit-virt for x86_64/);
    expect(fs.existsSync(path.join(dist, 'artifacts/kernel.tar'))).toBe(true);
  });

  it('stops make when nx is SIGKILLed mid-compile (no orphan keeps writing objects), and the rerun recovers', async () => {
    const child = startNx(workspace, ['run', 'kernel-6.12-virt:compile', '--arch=x86_64', '--skip-nx-cache']);
    await waitForOutput(child, /compiling kernel-6\.12-virt for x86_64/, 15 * 60 * 1000);
    await sleep(3000);
    process.kill(-(child.pid as number), 'SIGKILL');
    const result = await child;
    expect(result.signal).toBe('SIGKILL');
    // Nothing catches SIGKILL: the kernel tells make its parent died, and make stops its jobs.
    await sleep(8000);
    expect(await makeProcessesFor(buildDir)).toEqual([]);

    const rerun = await workspace.nx(['run', 'kernel-6.12-virt:compile', '--arch=x86_64', '--skip-nx-cache', '--outputStyle=stream'], { env: { KERNEL_WORK_DIR: WORK_DIR } });
    expect(rerun.all).toMatch(/kernel 6\.12\.118-linuxkit-virt for x86_64/);
    const dist = path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64');
    expect(fs.readdirSync(dist).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  describe('packaging', () => {
    const dist = () => path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64');
    const packageArgs = ['run', 'kernel-6.12-virt:package', '--arch=x86_64', '--excludeTaskDependencies', '--skip-nx-cache'];
    const packageOnce = (reject = true) => workspace.nx([...packageArgs, '--outputStyle=stream'], { env: { KERNEL_WORK_DIR: WORK_DIR }, reject });
    const imageRecord = () => JSON.parse(fs.readFileSync(path.join(dist(), 'image.json'), 'utf8'));
    const hiddenEntries = () => fs.readdirSync(dist()).filter((name) => name.startsWith('.'));
    const layoutIsValid = async (digest: string) => {
      const { stdout } = await execa('skopeo', ['inspect', '--raw', `oci:${path.join(dist(), 'oci')}:${imageRecord().tags[0]}`]);
      expect(`sha256:${createHash('sha256').update(stdout).digest('hex')}`).toBe(digest);
    };
    let digest: string;

    beforeAll(async () => {
      await packageOnce();
      digest = imageRecord().manifestDigest;
    });

    it.each<NodeJS.Signals>(['SIGINT', 'SIGKILL'])('keeps the previous image whole when %s hits mid-layout, and the rerun cleans up and writes the same image', async (signal) => {
      const child = startNx(workspace, packageArgs);
      await signalWhenEntryAppears(child, dist(), '.oci.partial-', signal, 5 * 60 * 1000);
      const result = await child;
      expect(result.exitCode === 0 && result.signal === undefined).toBe(false);
      // After SIGINT the executor may still finish the layout it was writing; let it.
      await waitForWritersToEnd(dist(), 60_000);
      // What a reader sees now is the previous image, complete (or, after SIGINT, the same image finished).
      expect(imageRecord().manifestDigest).toBe(digest);
      await layoutIsValid(digest);

      await packageOnce();
      expect(hiddenEntries()).toEqual([]);
      expect(imageRecord().manifestDigest).toBe(digest);
      await layoutIsValid(digest);
    });

    it('names the full disk, keeps nothing half-written, and succeeds once there is room', async () => {
      // dist/kernels/6.12-virt/x86_64 becomes a tmpfs holding what it held, with only 4 MiB to spare.
      const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-disk-full-'));
      fs.cpSync(dist(), saved, { recursive: true });
      const savedKiB = Number((await execa('du', ['-sk', saved])).stdout.split('\t')[0]);
      const sizeMiB = Math.ceil(savedKiB / 1024) + 4;
      await execa('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dist()]);
      try {
        fs.cpSync(saved, dist(), { recursive: true });
        const before = fs.readFileSync(path.join(dist(), 'image.json'), 'utf8');

        const full = await packageOnce(false);
        expect(full.exitCode).not.toBe(0);
        expect(full.all).toContain(`no space left on the device holding ${dist()} while writing ${path.join(dist(), 'oci')} (`);
        expect(full.all).toMatch(/MiB free after removing the partial output\)/);
        expect(full.all).toMatch(/fix: free space there \(df -h .*\).*then run again: nothing half-written was kept/);
        expect(hiddenEntries()).toEqual([]);
        expect(fs.readFileSync(path.join(dist(), 'image.json'), 'utf8')).toBe(before);
        await layoutIsValid(digest);

        await execa('mount', ['-o', `remount,size=${sizeMiB + 64}m`, dist()]);
        await packageOnce();
        expect(hiddenEntries()).toEqual([]);
        expect(imageRecord().manifestDigest).toBe(digest);
        await layoutIsValid(digest);
      } finally {
        await execa('umount', ['-l', dist()]);
        fs.rmSync(saved, { recursive: true, force: true });
      }
    });
  });

  it('makes a second build of the same project wait for the first instead of sharing its tree', async () => {
    const other = await createKernelWorkspace('faults-other', ['kernels/6.12', 'kernels/6.12-virt']);
    try {
      const first = startNx(workspace, ['run', 'kernel-6.12-virt:compile', '--arch=x86_64', '--skip-nx-cache']);
      await waitForOutput(first, /compiling kernel-6\.12-virt for x86_64/, 15 * 60 * 1000);
      const second = await other.nx(['run', 'kernel-6.12-virt:configure', '--arch=x86_64', '--skip-nx-cache', '--outputStyle=stream'], { env: { KERNEL_WORK_DIR: WORK_DIR } });
      const firstResult = await first;
      expect(firstResult.exitCode).toBe(0);
      expect(second.all).toMatch(/waiting for another run/);
      expect(second.exitCode).toBe(0);
    } finally {
      other.dispose();
    }
  });
});
