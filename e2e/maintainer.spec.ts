import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// The maintainer targets through the real nx CLI: sync-config, lint-patches and rebase-patches.
const env = { KERNEL_WORK_DIR: process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild') };

describe('maintainer targets', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('maintainer', ['kernels/6.12', 'kernels/6.12-virt']);
  });

  afterAll(() => workspace?.dispose());

  it('sync-config rewrites a config that is not a fixed point, prints the diffconfig, and configure passes after', async () => {
    const file = 'kernels/6.12-virt/config-x86_64';
    const committed = fs.readFileSync(path.join(workspace.root, file), 'utf8');
    workspace.write(file, `${committed}CONFIG_NOT_A_REAL_OPTION=y\n`);
    const synced = await workspace.nx(['run', 'kernel-6.12-virt:sync-config', '--arch=x86_64', '--outputStyle=stream'], { env });
    expect(synced.all).toMatch(/kernels\/6\.12-virt\/config-x86_64: updated/);
    expect(synced.all).toMatch(/-NOT_A_REAL_OPTION y/);
    expect(fs.readFileSync(path.join(workspace.root, file), 'utf8')).not.toContain('NOT_A_REAL_OPTION');
    const configured = await workspace.nx(['run', 'kernel-6.12-virt:configure', '--arch=x86_64', '--outputStyle=stream', '--skip-nx-cache'], { env });
    expect(configured.all).toMatch(/\(fixed point\)/);
  });

  it('sync-config refuses a variant whose config is inherited, naming the series to edit', async () => {
    workspace.write('kernels/6.12-x/kernel.yaml', 'extends: "6.12"\n');
    try {
      const graph = JSON.parse((await workspace.nx(['show', 'project', 'kernel-6.12-x', '--json'])).stdout);
      expect(graph.targets['sync-config']).toBeUndefined();
    } finally {
      workspace.remove('kernels/6.12-x');
    }
  });

  it('lint-patches prints each violation as file:line: rule: what to do', async () => {
    const shipped = fs.readFileSync(path.join(workspace.root, 'kernels/6.12/patches/0001-init-announce-LinuxKit-kernels-on-the-console.patch'), 'utf8');
    workspace.write('kernels/6.12-virt/patches/01-unsigned.patch', shipped.replace(/^Signed-off-by: .*\n/m, ''));
    try {
      const result = await workspace.nx(['run', 'kernel-6.12-virt:lint-patches', '--outputStyle=stream', '--skip-nx-cache'], { env, reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toMatch(/kernels\/6\.12-virt\/patches\/01-unsigned\.patch:1: numbered-name: /);
      expect(result.all).toMatch(/kernels\/6\.12-virt\/patches\/01-unsigned\.patch:\d+: signed-off-by: /);
    } finally {
      workspace.remove('kernels/6.12-virt/patches');
    }
    const clean = await workspace.nx(['run', 'kernel-6.12:lint-patches', '--outputStyle=stream'], { env });
    expect(clean.all).toMatch(/kernels\/6\.12\/patches: 1 patch\(es\) follow the rules/);
  });

  it('rebase-patches moves the series onto a new tag of a stable checkout and exports it back', async () => {
    // A tiny linux-stable: the real init/main.c at v6.12.118, and an unrelated change in v6.12.119.
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-stable-'));
    const git = (args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });
    try {
      const mainC = path.join(env.KERNEL_WORK_DIR, 'src/c93391b6a4884e6428ffbfbb8ce6340229ad28dc421e9f19bc081740b1ab34b2/init/main.c');
      await git(['init', '-q', '-b', 'master']);
      fs.mkdirSync(path.join(repo, 'init'));
      fs.copyFileSync(mainC, path.join(repo, 'init/main.c'));
      await git(['add', '.']);
      await git(['commit', '-q', '-m', 'Linux 6.12.118']);
      await git(['tag', 'v6.12.118']);
      fs.appendFileSync(path.join(repo, 'init/main.c'), '/* a stable fix far from our patch */\n');
      await git(['commit', '-q', '-am', 'Linux 6.12.119']);
      await git(['tag', 'v6.12.119']);

      const result = await workspace.nx(['run', 'kernel-6.12:rebase-patches', `--repo=${repo}`, '--to=v6.12.119', '--outputStyle=stream'], { env });
      expect(result.all).toMatch(/kernels\/6\.12\/patches: 1 patch\(es\) rebased from v6\.12\.118 onto v6\.12\.119/);
      const exported = path.join(workspace.root, 'kernels/6.12/patches/0001-init-announce-LinuxKit-kernels-on-the-console.patch');
      expect(fs.readFileSync(exported, 'utf8')).toContain('+\tpr_notice("LinuxKit: kernel built by the linuxkit-kernels Nx pipeline\\n");');
      await git(['checkout', '-q', 'v6.12.119']);
      await execa('git', ['apply', '--check', exported], { cwd: repo });
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('menuconfig through the kconfig CLI', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('menuconfig', ['kernels/6.12', 'kernels/6.12-virt']);
  });

  afterAll(async () => {
    await execa('tmux', ['kill-session', '-t', 'lk-menuconfig'], { reject: false });
    workspace?.dispose();
  });

  it('edits the aarch64 config from an x86_64 host in a real terminal and writes it back as a fixed point', async () => {
    const session = 'lk-menuconfig';
    const screen = async () => (await execa('tmux', ['capture-pane', '-t', session, '-p'])).stdout;
    const waitFor = async (pattern: RegExp, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (pattern.test(await screen())) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      throw new Error(`timed out waiting for ${pattern}:\n${await screen()}`);
    };
    const command = `cd ${workspace.root} && KERNEL_WORK_DIR=${env.KERNEL_WORK_DIR} node -r @swc-node/register tools/kconfig/kconfig-cli.ts menuconfig kernel-6.12-virt --arch=aarch64; echo "EXIT=$?"; sleep 300`;
    await execa('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '48', command]);
    await waitFor(/Linux\/arm64 6\.12\.118 Kernel Configuration/, 10 * 60 * 1000);
    // "Virtualization" is the 7th entry of the arm64 main menu: move there and enable it.
    for (let step = 0; step < 6; step++) await execa('tmux', ['send-keys', '-t', session, 'Down']);
    await execa('tmux', ['send-keys', '-t', session, 'y']);
    await waitFor(/\[\*\] Virtualization/, 10_000);
    await execa('tmux', ['send-keys', '-t', session, 'Escape']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await execa('tmux', ['send-keys', '-t', session, 'Escape']);
    await waitFor(/save your new configuration/, 10_000);
    await execa('tmux', ['send-keys', '-t', session, 'Enter']);
    await waitFor(/EXIT=0/, 5 * 60 * 1000);
    expect(await screen()).toMatch(/\+VIRTUALIZATION y/);
    expect(fs.readFileSync(path.join(workspace.root, 'kernels/6.12-virt/config-aarch64'), 'utf8')).toContain('CONFIG_VIRTUALIZATION=y');
  });
});
