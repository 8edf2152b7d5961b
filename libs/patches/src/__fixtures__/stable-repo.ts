import execa from 'execa';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PatchFile } from '../patch-series';
import { Edits, PRISTINE_FILES, replaceLine } from './kernel-series';

// The fixture's own git runs (making commits and patches as a developer would) have an identity
// and ignore the machine's config; the code under test runs with whatever the test leaves it.
const DEVELOPER_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Ada Lovelace',
  GIT_AUTHOR_EMAIL: 'ada@example.org',
  GIT_COMMITTER_NAME: 'Ada Lovelace',
  GIT_COMMITTER_EMAIL: 'ada@example.org',
  GIT_EDITOR: 'true',
};

/** What v1.1 changes upstream: a SUBLEVEL line in the Makefile and slab line 30. */
const UPSTREAM_V1_1: Edits = {
  Makefile: (content) => `${content}SUBLEVEL = 1\n`,
  'mm/slab.c': (content) => replaceLine(content, 'slab line 30', 'slab line thirty'),
};

/** Patches of the series, as edits made on a tag. */
export const SERIES_CHANGES = {
  slabFive: { subject: 'mm/slab: spell out five', edits: { 'mm/slab.c': (content: string) => replaceLine(content, 'slab line 5', 'slab line five') } },
  schedTen: { subject: 'sched: spell out ten', edits: { 'kernel/sched.c': (content: string) => replaceLine(content, 'sched line 10', 'sched line ten') } },
  /** Adds a line where v1.1 adds SUBLEVEL: conflicts with v1.1. */
  extraVersion: { subject: 'kbuild: set EXTRAVERSION to -linuxkit', edits: { Makefile: (content: string) => `${content}EXTRAVERSION = -linuxkit\n` } },
  /** Made on v1.1 over a line v1.0 does not have: does not apply on v1.0. */
  slabThirty: { subject: 'mm/slab: mark thirty', edits: { 'mm/slab.c': (content: string) => replaceLine(content, 'slab line thirty', 'slab line thirty (marked)') } },
};

/**
 * A temp stable-tree checkout with tags v1.0 and v1.1 (v1.0 plus upstream changes), HEAD on
 * branch `main` at v1.1, and a directory of patches made with git format-patch.
 */
export class StableRepo {
  readonly repo: string;
  readonly seriesDir: string;
  readonly outDir: string;

  private constructor(readonly root: string) {
    this.repo = path.join(root, 'linux-stable');
    this.seriesDir = path.join(root, 'series');
    this.outDir = path.join(root, 'kernels', '1', 'patches');
  }

  static async create(): Promise<StableRepo> {
    const stable = new StableRepo(await fs.mkdtemp(path.join(os.tmpdir(), 'stable-repo-')));
    await fs.mkdir(stable.repo);
    await fs.mkdir(stable.seriesDir);
    await stable.git('init', '-q', '-b', 'main');
    await stable.commit('Linux 1.0', PRISTINE_FILES);
    await stable.git('tag', '-a', '-m', 'Linux 1.0', 'v1.0');
    await stable.commit('Linux 1.1', UPSTREAM_V1_1);
    await stable.git('tag', '-a', '-m', 'Linux 1.1', 'v1.1');
    return stable;
  }

  /** Commits `change` on `tag` with a sign-off and writes it to the series directory as `name`. */
  async writePatch(name: string, tag: string, change: { subject: string; edits: Edits }): Promise<PatchFile> {
    const head = (await this.git('symbolic-ref', '--short', 'HEAD')).stdout;
    await this.git('checkout', '-q', '--detach', tag);
    await this.commit(`${change.subject}\n\nSpelled out for the test of the rebase workflow.`, change.edits, { signOff: true });
    const patchPath = path.join(this.seriesDir, name);
    await fs.writeFile(patchPath, (await this.git('format-patch', '-1', '--stdout', 'HEAD')).stdout + '\n');
    await this.git('checkout', '-q', head);
    return { name, path: patchPath };
  }

  git(...args: string[]) {
    return execa('git', args, { cwd: this.repo, env: DEVELOPER_ENV });
  }

  cleanup(): Promise<void> {
    return fs.rm(this.root, { recursive: true, force: true });
  }

  private async commit(message: string, edits: Edits, options: { signOff?: boolean } = {}): Promise<void> {
    for (const [file, edit] of Object.entries(edits)) {
      const target = path.join(this.repo, file);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const content = typeof edit === 'function' ? edit(await fs.readFile(target, 'utf8')) : edit;
      if (content === null) await fs.rm(target);
      else await fs.writeFile(target, content);
    }
    await this.git('add', '-A');
    await this.git('commit', '-q', ...(options.signOff ? ['-s'] : []), '-m', message);
  }
}
