import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import { copy } from 'fs-extra';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { GitCheckout } from './git-checkout';
import { compareFileNames } from './patch-series';

export interface ExportPatchSeriesOptions {
  /** The stable-tree checkout holding the branch. */
  repo: string;
  /** The tag the series applies to (e.g. v6.12.4): the commits after it are the series. */
  base: string;
  /** The branch carrying the series on top of `base`. */
  branch: string;
  /** The series' patches directory, e.g. kernels/6.12/patches. */
  outDir: string;
  log?: (line: string) => void;
}

export interface ExportedSeries {
  /** The written patch files (paths in outDir), in series order. */
  exported: string[];
}

/**
 * git format-patch flags chosen so that exporting the same commits gives the same bytes on any
 * machine and git version, so a re-export only shows real changes in review:
 * - `--zero-commit`: the `From <sha>` line would change on every rebase;
 * - `--no-numbered`: `[PATCH]`, not `[PATCH 3/7]`, so adding a patch leaves the others alone;
 * - `--no-signature`: the `-- 2.39.5` footer names the exporter's git version;
 * - `--full-index`: abbreviated blob ids grow with the repository; full ones also let
 *   `git am --3way` find the exact blobs;
 * - the rest override settings a user's config may turn on (prefixes, cover letter, threading,
 *   sign-off, base-commit), though the export also runs with the user's config ignored.
 * The diffstat stays: reviewers read it, git am skips it, and format-patch draws it at a fixed width.
 */
const FORMAT_PATCH_FLAGS = [
  '--zero-commit',
  '--no-numbered',
  '--subject-prefix=PATCH',
  '--no-signature',
  '--full-index',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--no-cover-letter',
  '--no-thread',
  '--no-signoff',
  '--no-base',
];

/**
 * Writes the commits `base..branch` as the series' patches (0001-<subject>.patch …), replacing
 * every *.patch file of outDir and keeping its other files. The new directory is complete
 * before it takes outDir's place, so outDir never holds half a series.
 */
export async function exportPatchSeries(options: ExportPatchSeriesOptions): Promise<ExportedSeries> {
  const log = options.log ?? (() => undefined);
  const outDir = path.resolve(options.outDir);
  const checkout = await GitCheckout.open(options.repo);
  // A stopped rebase has not moved the branch yet: exporting it now would write the old series.
  const stopped = await checkout.operationInProgress();
  if (stopped) {
    throw new KernelBuildError(
      `${stopped.operation} is in progress in ${checkout.dir}, so ${options.branch} does not hold the rebased series yet`,
      `Finish it first (cd ${checkout.dir}; resolve the conflicts, git add the files, ${stopped.finish}), then export again.`,
    );
  }
  const base = await checkout.resolveCommit(options.base, 'base');
  const tip = await checkout.resolveCommit(options.branch, 'branch');
  await assertSeriesRange(checkout, { base, tip, options });

  const staging = `${outDir}.export-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(path.dirname(outDir), { recursive: true });
  await fs.mkdir(staging);
  try {
    await checkout.git(['format-patch', ...FORMAT_PATCH_FLAGS, '--output-directory', staging, `${base}..${tip}`], `exporting ${options.base}..${options.branch}`, { hermetic: true });
    const exportedNames = (await fs.readdir(staging)).sort(compareFileNames);
    const previousNames = await keepOtherFiles(outDir, staging);
    await swapIn(staging, outDir);
    for (const name of previousNames.filter((previous) => !exportedNames.includes(previous))) log(`removed ${name} (no longer in the series)`);
    log(`exported ${exportedNames.length} patches (${options.base}..${options.branch}) to ${outDir}`);
    return { exported: exportedNames.map((name) => path.join(outDir, name)) };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

async function assertSeriesRange(checkout: GitCheckout, range: { base: string; tip: string; options: ExportPatchSeriesOptions }): Promise<void> {
  const { base, tip, options } = range;
  const contained = await checkout.run(['merge-base', '--is-ancestor', base, tip]);
  if (!contained.ok) {
    throw new KernelBuildError(
      `${options.branch} is not based on ${options.base} in ${checkout.dir}, so ${options.base}..${options.branch} is not the series`,
      `Rebase the branch onto ${options.base} first (git rebase --onto ${options.base} <old base> ${options.branch}), or name the base it is on.`,
    );
  }
  const merges = (await checkout.git(['rev-list', '--merges', `${base}..${tip}`], 'looking for merge commits')).split('\n').filter(Boolean);
  if (merges.length > 0) {
    throw new KernelBuildError(
      `${options.branch} has merge commits after ${options.base} (${merges.map((sha) => sha.slice(0, 12)).join(', ')}), which git format-patch leaves out`,
      'Make the series linear (git rebase the branch onto the base), then export again.',
    );
  }
}

/**
 * Gives staging outDir's mode and a copy of its entries other than *.patch files, so the swap
 * keeps them; returns the names of the patch files being replaced.
 */
async function keepOtherFiles(outDir: string, staging: string): Promise<string[]> {
  const entries = await fs.readdir(outDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!entries) return [];
  await fs.chmod(staging, (await fs.stat(outDir)).mode & 0o7777);
  const replaced: string[] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('.patch') && !entry.isDirectory()) replaced.push(entry.name);
    else await copy(path.join(outDir, entry.name), path.join(staging, entry.name), { preserveTimestamps: true });
  }
  return replaced.sort(compareFileNames);
}

/** Puts staging in outDir's place by renames: outDir is the old directory or the new one, never a mix. */
async function swapIn(staging: string, outDir: string): Promise<void> {
  const previous = `${staging}.previous`;
  const hadOutDir = await fs.rename(outDir, previous).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  try {
    await fs.rename(staging, outDir);
  } catch (error) {
    if (hadOutDir) await fs.rename(previous, outDir);
    throw error;
  }
  if (hadOutDir) await fs.rm(previous, { recursive: true, force: true });
}
