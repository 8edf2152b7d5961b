import { promises as fs } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { exportPatchSeries } from './export-series';
import { GitCheckout } from './git-checkout';
import { PatchFile, patchDisplayPath } from './patch-series';

export interface RebasePatchSeriesOptions {
  /** A checkout of the stable tree (linux-stable) with both tags. */
  repo: string;
  /** The tag the series applies to today. */
  fromTag: string;
  /** The tag to move the series to. */
  toTag: string;
  /** The series, in apply order. */
  patches: PatchFile[];
  /** Where the rebased series is exported: the series' patches directory (kernels/<series>/patches). */
  outDir: string;
  /** The branch that carries the series in repo; default `linuxkit/<toTag>`. */
  branch?: string;
  log?: (line: string) => void;
}

export interface RebasedSeries {
  branch: string;
  /** The exported patch files (paths in outDir), in series order. */
  exported: string[];
}

/**
 * The stable-tree workflow of the LinuxKit kernel README, as one step: apply the series with
 * git am on `fromTag` in branch `linuxkit/<toTag>`, rebase that branch onto `toTag`, export it
 * into outDir with git format-patch. A conflict stops the rebase for the user to resolve; they
 * then continue it and run exportPatchSeries.
 */
export async function rebasePatchSeries(options: RebasePatchSeriesOptions): Promise<RebasedSeries> {
  const log = options.log ?? (() => undefined);
  const branch = options.branch ?? `linuxkit/${options.toTag}`;
  const checkout = await GitCheckout.open(options.repo);
  await assertBranchName(checkout, branch);
  const from = await checkout.resolveCommit(options.fromTag, 'fromTag');
  const to = await checkout.resolveCommit(options.toTag, 'toTag');
  await checkout.assertReadyForRebase();
  await assertPatchesExist(options.patches);

  const previousTip = await checkout.run(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
  if (previousTip.ok) log(`resetting branch ${branch} (it was at ${previousTip.stdout.trim()}; git branch -f ${branch} ${previousTip.stdout.trim()} restores it)`);
  await checkout.git(['checkout', '--quiet', '-B', branch, from], `checking out ${branch} at ${options.fromTag}`);
  const commits = await applySeries(checkout, { ...options, branch });
  log(`rebasing ${commits.length} patches from ${options.fromTag} onto ${options.toTag}`);
  await rebaseSeries(checkout, { ...options, branch, from, to, commits });
  await logDroppedPatches(checkout, { to, branch, commits, log });
  const { exported } = await exportPatchSeries({ repo: checkout.dir, base: options.toTag, branch, outDir: options.outDir, log });
  return { branch, exported };
}

/** A patch of the series and the commit git am made of it on fromTag. */
interface SeriesCommit {
  patch: PatchFile;
  sha: string;
  subject: string;
}

async function applySeries(checkout: GitCheckout, options: RebasePatchSeriesOptions & { branch: string }): Promise<SeriesCommit[]> {
  const commits: SeriesCommit[] = [];
  for (const patch of options.patches) {
    options.log?.(`applying ${patch.name} on ${options.fromTag}`);
    // Explicit flags, so a user's am.messageid / am.signoff config cannot change the messages.
    const am = await checkout.run(['am', '--3way', '--no-message-id', '--no-signoff', '--no-scissors', '--', path.resolve(patch.path)]);
    if (!am.ok) {
      await checkout.run(['am', '--abort']);
      throw new KernelBuildError(
        `${patchDisplayPath(patch)} does not apply on ${options.fromTag} (git am --3way failed; ${options.branch} in ${checkout.dir} holds the patches before it)`,
        `The series must apply on fromTag, the tag it was made for: check that ${options.fromTag} is the tag the series builds today, and that the patch is a git format-patch mail (lint the series); fix the patch and run again.`,
        am.output.trimEnd(),
      );
    }
    const [sha, subject] = (await checkout.git(['log', '-1', '--format=%H%n%s', 'HEAD'], `reading the commit of ${patch.name}`)).split('\n');
    commits.push({ patch, sha, subject });
  }
  return commits;
}

async function rebaseSeries(checkout: GitCheckout, options: RebasePatchSeriesOptions & { branch: string; from: string; to: string; commits: SeriesCommit[] }): Promise<void> {
  const rebase = await checkout.run(['rebase', '--no-autostash', '--onto', options.to, options.from, options.branch]);
  if (rebase.ok) return;
  const stoppedAt = await checkout.run(['rev-parse', '--verify', '--quiet', 'REBASE_HEAD']);
  if (!stoppedAt.ok) {
    const stopped = await checkout.operationInProgress();
    const fix = stopped
      ? `The rebase is stopped in ${checkout.dir}: fix what git reports, then git rebase --continue and run the export again, or git rebase --abort.`
      : 'Fix what git reports and run again.';
    throw new KernelBuildError(`git rebase of ${options.branch} onto ${options.toTag} failed in ${checkout.dir}`, fix, rebase.output.trimEnd());
  }
  const sha = stoppedAt.stdout.trim();
  const commit = options.commits.find((candidate) => candidate.sha === sha);
  const subject = commit?.subject ?? (await checkout.git(['log', '-1', '--format=%s', sha], 'reading the stopped commit')).trim();
  const conflicted = (await checkout.git(['diff', '--name-only', '--diff-filter=U', '-z'], 'listing the conflicts')).split('\0').filter(Boolean);
  const culprit = commit ? `${patchDisplayPath(commit.patch)} ("${subject}")` : `commit ${sha.slice(0, 12)} ("${subject}")`;
  const files = conflicted.length > 0 ? conflicted.join(', ') : 'the files git status lists';
  throw new KernelBuildError(
    `${culprit} conflicts with ${options.toTag} in ${files}; the rebase of ${options.branch} is stopped there, in progress in ${checkout.dir}`,
    `cd ${checkout.dir}; resolve the conflicts in ${files}, git add them, git rebase --continue (again for any later conflict); then run the export again (exportPatchSeries with base ${options.toTag} and branch ${options.branch}). To give up: git rebase --abort.`,
    rebase.output.trimEnd(),
  );
}

/** git rebase drops a patch that toTag already has (merged upstream or backported): say which. */
async function logDroppedPatches(checkout: GitCheckout, state: { to: string; branch: string; commits: SeriesCommit[]; log: (line: string) => void }): Promise<void> {
  const subjects = new Set((await checkout.git(['log', '--format=%s', `${state.to}..${state.branch}`], 'listing the rebased series')).split('\n'));
  for (const commit of state.commits) {
    if (!subjects.has(commit.subject)) state.log(`dropped ${commit.patch.name} ("${commit.subject}"): the new tag already has this change`);
  }
}

async function assertBranchName(checkout: GitCheckout, branch: string): Promise<void> {
  const check = await checkout.run(['check-ref-format', '--branch', branch]);
  if (!check.ok || branch.startsWith('-')) {
    throw new KernelBuildError(`${branch} is not a valid branch name`, 'Pass a branch name git accepts (e.g. linuxkit/v6.12.5), or leave branch out for linuxkit/<toTag>.');
  }
}

async function assertPatchesExist(patches: PatchFile[]): Promise<void> {
  for (const patch of patches) {
    const stat = await fs.stat(patch.path).catch(() => undefined);
    if (!stat?.isFile()) throw new KernelBuildError(`cannot read patch ${patchDisplayPath(patch)}: no such file`, 'Check the series: the patch list names a file that is not there.');
  }
}
