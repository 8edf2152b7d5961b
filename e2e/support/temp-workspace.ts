import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** What a temp workspace copies from this repository: the build code and the shared kernel inputs. */
const COPIED = ['nx.json', 'package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.json', 'tools', 'libs', 'kernels/common'];

export interface TempWorkspace {
  root: string;
  write(file: string, text: string): void;
  remove(file: string): void;
  /** Copies kernels/<dir> from this repository. */
  copyKernel(dir: string): void;
  /** Copies any path of this repository, e.g. modules/hello-world. */
  copy(relative: string): void;
  git(args: string[]): Promise<string>;
  commitAll(message: string): Promise<void>;
  nx(args: string[], options?: { env?: NodeJS.ProcessEnv; reject?: boolean }): Promise<execa.ExecaReturnValue>;
  dispose(): void;
}

/**
 * A real Nx workspace in a temp dir with this repository's plugin and libs, sharing node_modules
 * by symlink, committed to a fresh git repo so `nx affected` and the -dirty logic see history.
 */
export async function createTempWorkspace(name: string): Promise<TempWorkspace> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `lk-${name}-`));
  for (const entry of COPIED) {
    fs.cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), {
      recursive: true,
      filter: (source) => !source.includes(`${path.sep}node_modules`),
    });
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  fs.writeFileSync(path.join(root, '.gitignore'), 'node_modules\ndist/\n.kbuild/\n.nx/\n');

  const git = async (args: string[]) => (await execa('git', args, { cwd: root })).stdout;
  await git(['init', '-q', '-b', 'main']);
  await git(['config', 'user.email', 'test@example.invalid']);
  await git(['config', 'user.name', 'test']);

  const workspace: TempWorkspace = {
    root,
    write(file, text) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    },
    remove(file) {
      fs.rmSync(path.join(root, file), { recursive: true, force: true });
    },
    copyKernel(dir) {
      fs.cpSync(path.join(REPO_ROOT, 'kernels', dir), path.join(root, 'kernels', dir), { recursive: true });
    },
    copy(relative) {
      fs.cpSync(path.join(REPO_ROOT, relative), path.join(root, relative), { recursive: true });
    },
    git,
    async commitAll(message) {
      await git(['add', '-A']);
      await git(['commit', '-q', '--allow-empty', '-m', message]);
    },
    nx(args, options = {}) {
      return execa(path.join(REPO_ROOT, 'node_modules/.bin/nx'), args, {
        cwd: root,
        reject: options.reject ?? true,
        env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_INTERACTIVE: 'false', NX_TUI: 'false', CI: 'true', NO_COLOR: '1', ...options.env },
        all: true,
      });
    },
    dispose() {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
  return workspace;
}

/** A committed temp workspace holding the given paths of this repository (kernels/6.12, modules/…). */
export async function createKernelWorkspace(name: string, paths: string[]): Promise<TempWorkspace> {
  const workspace = await createTempWorkspace(name);
  for (const relative of paths) workspace.copy(relative);
  await workspace.commitAll('kernels');
  return workspace;
}
