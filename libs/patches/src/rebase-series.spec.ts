import execa from 'execa';
import { promises as fs } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { SERIES_CHANGES, StableRepo } from './__fixtures__/stable-repo';
import { exportPatchSeries } from './export-series';
import { formatViolation, lintPatchSeries } from './lint-rules';
import { PatchFile } from './patch-series';
import { rebasePatchSeries } from './rebase-series';

// The code under test runs as on a machine without git identity or config: it must bring its own.
const MACHINE_GIT_ENV = ['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_NOSYSTEM', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'EMAIL'];
const savedEnv = Object.fromEntries(MACHINE_GIT_ENV.map((name) => [name, process.env[name]]));
beforeAll(() => {
  for (const name of MACHINE_GIT_ENV) delete process.env[name];
  Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
});
afterAll(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function rejection(promise: Promise<unknown>): Promise<KernelBuildError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KernelBuildError);
  return error as KernelBuildError;
}

describe('rebasePatchSeries', () => {
  let stable: StableRepo;
  let logs: string[];
  let slabFive: PatchFile;
  let schedTen: PatchFile;

  beforeEach(async () => {
    stable = await StableRepo.create();
    logs = [];
    slabFive = await stable.writePatch('0001-mm-slab-spell-out-five.patch', 'v1.0', SERIES_CHANGES.slabFive);
    schedTen = await stable.writePatch('0002-sched-spell-out-ten.patch', 'v1.0', SERIES_CHANGES.schedTen);
  });
  afterEach(() => stable.cleanup());

  const rebase = (patches: PatchFile[], options: { toTag?: string; branch?: string } = {}) =>
    rebasePatchSeries({ repo: stable.repo, fromTag: 'v1.0', toTag: options.toTag ?? 'v1.1', patches, outDir: stable.outDir, branch: options.branch, log: (line) => logs.push(line) });

  /** Applies `files` in order onto a fresh checkout of `tag`, each checked first with git apply --check. */
  async function applyOnTag(tag: string, files: string[]): Promise<void> {
    const worktree = path.join(stable.root, `check-${tag}`);
    await stable.git('worktree', 'add', '--quiet', '--detach', worktree, tag);
    for (const file of files) {
      await execa('git', ['apply', '--check', file], { cwd: worktree });
      await execa('git', ['apply', file], { cwd: worktree });
    }
  }

  async function rebaseStatus(): Promise<string> {
    return (await stable.git('status')).stdout;
  }

  it('moves the series onto the new tag and exports it as patches that apply there', async () => {
    const result = await rebase([slabFive, schedTen]);

    expect(result).toEqual({
      branch: 'linuxkit/v1.1',
      exported: [path.join(stable.outDir, '0001-mm-slab-spell-out-five.patch'), path.join(stable.outDir, '0002-sched-spell-out-ten.patch')],
    });
    await applyOnTag('v1.1', result.exported);
    const onBranch = (await stable.git('log', '--format=%s', 'v1.1..linuxkit/v1.1')).stdout.split('\n');
    expect(onBranch).toEqual(['sched: spell out ten', 'mm/slab: spell out five']);
    expect((await stable.git('symbolic-ref', '--short', 'HEAD')).stdout).toBe('linuxkit/v1.1');
    expect(logs).toContain('rebasing 2 patches from v1.0 onto v1.1');
  });

  it('exports mails that follow the patch rules and do not change with the machine that exported them', async () => {
    const { exported } = await rebase([slabFive, schedTen]);
    const first = await fs.readFile(exported[0], 'utf8');

    expect(first.split('\n').slice(0, 4)).toEqual([
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: Ada Lovelace <ada@example.org>',
      expect.stringMatching(/^Date: /),
      'Subject: [PATCH] mm/slab: spell out five',
    ]);
    expect(first).toMatch(/^index [0-9a-f]{40}\.\.[0-9a-f]{40} 100644$/m);
    expect(first).not.toMatch(/^-- $/m);
    const lint = await lintPatchSeries(exported.map((file) => ({ name: path.basename(file), path: file, displayPath: file })));
    expect(lint.map(formatViolation)).toEqual([]);
  });

  it('commits as a placeholder committer where git has no identity, and as the user where it has one', async () => {
    await rebase([slabFive]);
    expect((await stable.git('log', '-1', '--format=%an <%ae> / %cn <%ce>', 'linuxkit/v1.1')).stdout).toBe('Ada Lovelace <ada@example.org> / linuxkit-kernels <linuxkit-kernels@localhost>');

    await stable.git('config', 'user.name', 'Grace Hopper');
    await stable.git('config', 'user.email', 'grace@example.org');
    await rebase([slabFive], { branch: 'linuxkit/v1.1-again' });
    expect((await stable.git('log', '-1', '--format=%cn <%ce>', 'linuxkit/v1.1-again')).stdout).toBe('Grace Hopper <grace@example.org>');
  });

  it('stops at a patch that conflicts with the new tag, naming it and the files, and leaves the rebase in progress', async () => {
    const extraVersion = await stable.writePatch('0002-kbuild-set-EXTRAVERSION.patch', 'v1.0', SERIES_CHANGES.extraVersion);
    const error = await rejection(rebase([slabFive, extraVersion, schedTen]));

    expect(error.message).toBe(
      `${extraVersion.path} ("kbuild: set EXTRAVERSION to -linuxkit") conflicts with v1.1 in Makefile; the rebase of linuxkit/v1.1 is stopped there, in progress in ${stable.repo}`,
    );
    expect(error.fix).toBe(
      `cd ${stable.repo}; resolve the conflicts in Makefile, git add them, git rebase --continue (again for any later conflict); then run the export again (exportPatchSeries with base v1.1 and branch linuxkit/v1.1). To give up: git rebase --abort.`,
    );
    expect(await rebaseStatus()).toMatch(/rebase in progress/);
    expect(await fs.readdir(stable.root)).not.toContain('kernels');
  });

  it('exports the series once the user has resolved the conflict and continued the rebase', async () => {
    const extraVersion = await stable.writePatch('0002-kbuild-set-EXTRAVERSION.patch', 'v1.0', SERIES_CHANGES.extraVersion);
    await rejection(rebase([slabFive, extraVersion, schedTen]));
    const exportNow = () => exportPatchSeries({ repo: stable.repo, base: 'v1.1', branch: 'linuxkit/v1.1', outDir: stable.outDir });

    const tooEarly = await rejection(exportNow());
    expect(tooEarly.message).toBe(`a rebase is in progress in ${stable.repo}, so linuxkit/v1.1 does not hold the rebased series yet`);

    await fs.writeFile(path.join(stable.repo, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 1\nEXTRAVERSION = -linuxkit\n');
    await stable.git('add', 'Makefile');
    await stable.git('rebase', '--continue');
    const { exported } = await exportNow();

    expect(exported.map((file) => path.basename(file))).toEqual([
      '0001-mm-slab-spell-out-five.patch',
      '0002-kbuild-set-EXTRAVERSION-to-linuxkit.patch',
      '0003-sched-spell-out-ten.patch',
    ]);
    await applyOnTag('v1.1', exported);
  });

  it('fails on a patch that does not apply on fromTag, naming it, and leaves no git am in progress', async () => {
    const slabThirty = await stable.writePatch('0002-mm-slab-mark-thirty.patch', 'v1.1', SERIES_CHANGES.slabThirty);
    const error = await rejection(rebase([slabFive, slabThirty]));

    expect(error.message).toBe(`${slabThirty.path} does not apply on v1.0 (git am --3way failed; linuxkit/v1.1 in ${stable.repo} holds the patches before it)`);
    expect(error.fix).toMatch(/^The series must apply on fromTag, the tag it was made for/);
    expect(await rebaseStatus()).not.toMatch(/in progress/);
    expect((await stable.git('status', '--porcelain')).stdout).toBe('');
    expect((await stable.git('log', '--format=%s', 'v1.0..HEAD')).stdout).toBe('mm/slab: spell out five');
  });

  it('refuses a tag the repository does not have, before touching anything', async () => {
    const error = await rejection(rebase([slabFive], { toTag: 'v1.2' }));

    expect(error.message).toBe(`toTag v1.2 does not name a commit in ${stable.repo}`);
    expect(error.fix).toContain('git fetch --tags origin');
    expect((await stable.git('symbolic-ref', '--short', 'HEAD')).stdout).toBe('main');
  });

  it('refuses a checkout with uncommitted changes, naming them', async () => {
    await fs.appendFile(path.join(stable.repo, 'Makefile'), '# local edit\n');
    const error = await rejection(rebase([slabFive]));

    expect(error.message).toBe(`${stable.repo} has uncommitted changes (M Makefile)`);
    expect(error.fix).toMatch(/^Commit or stash them first/);
    expect((await stable.git('symbolic-ref', '--short', 'HEAD')).stdout).toBe('main');
  });

  it('refuses a directory that is not a git checkout', async () => {
    const error = await rejection(rebasePatchSeries({ repo: stable.seriesDir, fromTag: 'v1.0', toTag: 'v1.1', patches: [slabFive], outDir: stable.outDir }));
    expect(error.message).toBe(`${stable.seriesDir} is not a git checkout: git finds no work tree there`);
  });

  it('logs the patches the new tag already has, which the rebase drops', async () => {
    await stable.git('checkout', '-q', '--detach', 'v1.1');
    await stable.git('apply', '--index', slabFive.path);
    await stable.git('commit', '-q', '-m', 'mm/slab: spell out five (upstream)');
    await stable.git('tag', '-a', '-m', 'Linux 1.2', 'v1.2');
    await stable.git('checkout', '-q', 'main');

    const { exported } = await rebase([slabFive, schedTen], { toTag: 'v1.2' });

    expect(exported.map((file) => path.basename(file))).toEqual(['0001-sched-spell-out-ten.patch']);
    expect(logs).toContain('dropped 0001-mm-slab-spell-out-five.patch ("mm/slab: spell out five"): the new tag already has this change');
  });
});

describe('exportPatchSeries', () => {
  let stable: StableRepo;

  beforeEach(async () => {
    stable = await StableRepo.create();
    await stable.git('checkout', '-q', '-b', 'linuxkit/v1.0', 'v1.0');
    for (const change of [SERIES_CHANGES.slabFive, SERIES_CHANGES.schedTen]) {
      const patch = await stable.writePatch('patch', 'v1.0', change);
      await stable.git('am', '-q', patch.path);
    }
  });
  afterEach(() => stable.cleanup());

  const exportSeries = (log?: (line: string) => void) => exportPatchSeries({ repo: stable.repo, base: 'v1.0', branch: 'linuxkit/v1.0', outDir: stable.outDir, log });

  it('replaces the old patch files, keeps the other files, and writes the same bytes when exported again', async () => {
    await fs.mkdir(stable.outDir, { recursive: true });
    await fs.writeFile(path.join(stable.outDir, 'README.md'), 'patches of series 1\n');
    await fs.writeFile(path.join(stable.outDir, '0001-an-old-name.patch'), 'stale\n');
    const logs: string[] = [];

    const { exported } = await exportSeries((line) => logs.push(line));
    const contents = await Promise.all(exported.map((file) => fs.readFile(file, 'utf8')));
    const again = await exportSeries();

    expect((await fs.readdir(stable.outDir)).sort()).toEqual(['0001-mm-slab-spell-out-five.patch', '0002-sched-spell-out-ten.patch', 'README.md']);
    expect(await fs.readFile(path.join(stable.outDir, 'README.md'), 'utf8')).toBe('patches of series 1\n');
    expect(await Promise.all(again.exported.map((file) => fs.readFile(file, 'utf8')))).toEqual(contents);
    expect(logs).toEqual(['removed 0001-an-old-name.patch (no longer in the series)', `exported 2 patches (v1.0..linuxkit/v1.0) to ${stable.outDir}`]);
    expect((await fs.readdir(path.dirname(stable.outDir))).sort()).toEqual(['patches']);
  });

  it('refuses a branch that is not based on the base', async () => {
    const error = await rejection(exportPatchSeries({ repo: stable.repo, base: 'v1.1', branch: 'linuxkit/v1.0', outDir: stable.outDir }));
    expect(error.message).toBe(`linuxkit/v1.0 is not based on v1.1 in ${stable.repo}, so v1.1..linuxkit/v1.0 is not the series`);
  });

  it('refuses a series with a merge commit, which git format-patch would leave out', async () => {
    await stable.git('merge', '-q', '--no-ff', '-m', 'Merge v1.1', 'v1.1');
    const error = await rejection(exportSeries());
    expect(error.message).toMatch(/^linuxkit\/v1\.0 has merge commits after v1\.0 \([0-9a-f]{12}\), which git format-patch leaves out$/);
  });
});
