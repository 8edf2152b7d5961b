import * as fs from 'fs';
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
