import execa from 'execa';
import { promises as fs } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';

export interface GitRun {
  ok: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, for error details. */
  output: string;
}

/** Operations that leave a checkout half-way, by the file git keeps while one is in progress. */
const IN_PROGRESS = [
  { file: 'rebase-merge', operation: 'a rebase', finish: 'git rebase --continue (or git rebase --abort)' },
  { file: 'rebase-apply', operation: 'a rebase or git am', finish: 'git rebase --continue / git am --continue (or --abort)' },
  { file: 'MERGE_HEAD', operation: 'a merge', finish: 'git merge --continue (or git merge --abort)' },
  { file: 'CHERRY_PICK_HEAD', operation: 'a cherry-pick', finish: 'git cherry-pick --continue (or git cherry-pick --abort)' },
  { file: 'REVERT_HEAD', operation: 'a revert', finish: 'git revert --continue (or git revert --abort)' },
];

// The committer of the commits git am and git rebase make, on a machine with no git identity.
// git format-patch writes only the author (kept from the patch), so it never reaches a patch file.
const FALLBACK_IDENTITY = { 'user.name': 'linuxkit-kernels', 'user.email': 'linuxkit-kernels@localhost' };

// Variables a calling git (a hook, `git rebase --exec`) sets would point our git at another repository.
const REPOSITORY_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX'];

/** A git work tree (a linux-stable checkout) that patch maintenance runs git in. */
export class GitCheckout {
  private constructor(
    readonly dir: string,
    private readonly identityArgs: string[],
  ) {}

  static async open(dir: string): Promise<GitCheckout> {
    const resolved = path.resolve(dir);
    const stat = await fs.stat(resolved).catch(() => undefined);
    const notACheckout = (why: string, details?: string) =>
      new KernelBuildError(
        `${resolved} is not a git checkout: ${why}`,
        'Point repo at a clone of the stable tree (git clone https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git) that has the tags.',
        details,
      );
    if (!stat?.isDirectory()) throw notACheckout('no such directory');
    const probe = new GitCheckout(resolved, []);
    const topLevel = await probe.run(['rev-parse', '--show-toplevel']);
    if (!topLevel.ok) throw notACheckout('git finds no work tree there', topLevel.output);
    const identityArgs: string[] = [];
    for (const [key, value] of Object.entries(FALLBACK_IDENTITY)) {
      const configured = await probe.run(['config', '--get', key]);
      if (!configured.ok || configured.stdout.trim() === '') identityArgs.push('-c', `${key}=${value}`);
    }
    return new GitCheckout(topLevel.stdout.trim(), identityArgs);
  }

  /**
   * Runs git here; never rejects on an exit code. `hermetic` ignores the user's and the system's
   * git config, whose diff and format settings (noprefix, algorithm, signoff, signature …) would
   * make the same commits export differently from one machine to the next.
   */
  async run(args: string[], options: { hermetic?: boolean } = {}): Promise<GitRun> {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_EDITOR: 'true', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    for (const name of REPOSITORY_ENV) env[name] = undefined;
    if (options.hermetic) Object.assign(env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
    const identity = options.hermetic ? Object.entries(FALLBACK_IDENTITY).flatMap(([key, value]) => ['-c', `${key}=${value}`]) : this.identityArgs;
    // Signing would stop for a passphrase, and a signature never reaches a patch file.
    const config = ['-c', 'commit.gpgSign=false', ...identity];
    const result = await execa('git', [...config, ...args], { cwd: this.dir, reject: false, all: true, extendEnv: false, env, stdin: 'ignore' });
    if (result.exitCode === undefined) {
      throw new KernelBuildError(`could not run git in ${this.dir}: ${(result as Partial<execa.ExecaError>).shortMessage ?? 'no exit code'}`, 'Install git (Debian: apt-get install git).');
    }
    return { ok: result.exitCode === 0, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, output: result.all ?? '' };
  }

  /** Runs git and returns its stdout; a failure is a KernelBuildError saying what was being done. */
  async git(args: string[], doing: string, options: { hermetic?: boolean } = {}): Promise<string> {
    const run = await this.run(args, options);
    if (!run.ok) {
      throw new KernelBuildError(`git failed ${doing} in ${this.dir} (git ${args.join(' ')} exited with ${run.exitCode})`, 'See the git output above; fix what it reports and run again.', run.output.trimEnd());
    }
    return run.stdout;
  }

  /** The full sha of the commit `rev` names (a tag, a branch, a sha); `role` says what it is for. */
  async resolveCommit(rev: string, role: string): Promise<string> {
    const run = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    if (!run.ok || rev.startsWith('-')) {
      throw new KernelBuildError(
        `${role} ${rev} does not name a commit in ${this.dir}`,
        `Check the spelling, and fetch the tags of the stable tree if it is new (cd ${this.dir}; git fetch --tags origin).`,
      );
    }
    return run.stdout.trim();
  }

  /** Refuses a checkout with tracked changes (as git rebase does) or an operation in progress. */
  async assertReadyForRebase(): Promise<void> {
    await this.assertNoOperationInProgress();
    const status = await this.git(['status', '--porcelain=v1', '--untracked-files=no'], 'reading the status');
    const changes = status.split('\n').filter(Boolean);
    if (changes.length > 0) {
      const shown = changes.slice(0, 5).map((line) => line.trim());
      const more = changes.length > shown.length ? ` and ${changes.length - shown.length} more` : '';
      throw new KernelBuildError(
        `${this.dir} has uncommitted changes (${shown.join(', ')}${more})`,
        `Commit or stash them first (cd ${this.dir}; git stash): the rebase checks out other commits.`,
      );
    }
  }

  async assertNoOperationInProgress(): Promise<void> {
    const stopped = await this.operationInProgress();
    if (stopped) {
      throw new KernelBuildError(`${stopped.operation} is in progress in ${this.dir}`, `Finish it first: cd ${this.dir}; ${stopped.finish}.`);
    }
  }

  async operationInProgress(): Promise<{ operation: string; finish: string } | undefined> {
    const paths = (await this.git(['rev-parse', ...IN_PROGRESS.flatMap(({ file }) => ['--git-path', file])], 'locating the git directory')).split('\n');
    for (const [index, candidate] of IN_PROGRESS.entries()) {
      const exists = await fs.access(path.resolve(this.dir, paths[index])).then(
        () => true,
        () => false,
      );
      if (exists) return candidate;
    }
    return undefined;
  }
}
