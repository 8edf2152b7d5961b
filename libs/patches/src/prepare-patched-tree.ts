import { promises as fs } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { listDivergedFiles, reconcileFileTimes, snapshotFiles, FileSnapshot } from './file-times';
import { applyPatchArgs, patchDoesNotApplyError, reversePatchArgs, runGnuPatch } from './gnu-patch';
import { assertPatchPathsInsideTree, parsePatch, ParsedPatch } from './parse-patch';
import { PatchFile, patchDisplayPath, sha256 } from './patch-series';
import { copyTreeAsHardlinks } from './pristine-copy';
import { withTreeLock, TreeLock } from './tree-lock';
import {
  AppliedPatch,
  appliedCopyPath,
  clearTreeDirty,
  isTreeDirty,
  markTreeDirty,
  planSeriesUpdate,
  pruneAppliedCopies,
  readTreeState,
  STATE_DIR_NAME,
  TreeState,
  writeTreeState,
} from './tree-state';

export interface PreparePatchedTreeOptions {
  /** An extracted kernel tree, shared read-only by many projects: never modified. */
  pristineDir: string;
  /** This project's tree, e.g. .kbuild/trees/kernel-6.12. */
  treeDir: string;
  /** In apply order. */
  patches: PatchFile[];
  log?: (line: string) => void;
}

export interface PatchedTree {
  treeDir: string;
  /** Patches applied by this run, in order. */
  applied: string[];
  /** Patches reverse-applied by this run, in that order (last applied first). */
  reverted: string[];
  /** The tree was (re)made from the pristine tree on this run, the first run included. */
  recreated: boolean;
}

/** A patch of the series, read once: what is hashed is what is applied. */
interface LoadedPatch extends PatchFile, AppliedPatch {
  content: Buffer;
  parsed: ParsedPatch;
}

interface TreeUpdate {
  pristineDir: string;
  treeDir: string;
  desired: LoadedPatch[];
  log: (line: string) => void;
  lock: TreeLock;
}

type TreeCondition = { kind: 'missing' } | { kind: 'reusable'; state: TreeState } | { kind: 'stale'; reason: string };

/**
 * Makes `treeDir` the pristine tree with `patches` applied, changing as little as possible:
 * the recorded patches that still match stay, the ones after them are reversed, the new ones
 * applied. An unchanged series touches nothing, so make's mtimes stay valid.
 */
export async function preparePatchedTree(options: PreparePatchedTreeOptions): Promise<PatchedTree> {
  const pristineDir = path.resolve(options.pristineDir);
  const treeDir = path.resolve(options.treeDir);
  const log = options.log ?? (() => undefined);
  assertSeparateTrees(pristineDir, treeDir);
  await assertDirectory(pristineDir);
  const desired = await loadSeries(options.patches);
  await fs.mkdir(path.dirname(treeDir), { recursive: true });
  return withTreeLock(treeDir, log, (lock) => updateTree({ pristineDir, treeDir, desired, log, lock }));
}

async function updateTree(update: TreeUpdate): Promise<PatchedTree> {
  const { treeDir, desired, log } = update;
  await fs.rm(stagingDir(treeDir), { recursive: true, force: true });
  await fs.rm(discardedDir(treeDir), { recursive: true, force: true });
  const condition = await inspectTree(update);
  if (condition.kind === 'missing') {
    log(`creating ${treeDir} from ${update.pristineDir}`);
    return recreateTree(update, new Map());
  }
  if (condition.kind === 'stale') {
    const snapshot = await snapshotChangeableFiles(treeDir);
    log(`recreating ${treeDir}: ${condition.reason}`);
    return recreateTree(update, snapshot);
  }
  const plan = planSeriesUpdate(condition.state.applied, desired);
  if (plan.toRevert.length === 0 && plan.toApply.length === 0) {
    log(`${treeDir} is up to date (${desired.length} patches)`);
    return { treeDir, applied: [], reverted: [], recreated: false };
  }
  const snapshot = await snapshotChangeableFiles(treeDir);
  const reverting = await loadAppliedCopies(treeDir, plan.toRevert);
  if (!reverting) {
    log(`recreating ${treeDir}: the applied copy of a patch to reverse is missing or changed`);
    return recreateTree(update, snapshot);
  }

  if (reverting.length > 0) await markTreeDirty(treeDir);
  const applied = condition.state.applied.slice(0, plan.kept);
  const reverted: string[] = [];
  for (const patch of reverting) {
    log(`reverting ${patch.name}`);
    const run = await runGnuPatch(treeDir, reversePatchArgs(), patch.content);
    if (!run.ok) {
      log(`recreating ${treeDir}: ${patch.name} does not reverse cleanly (was the tree edited?)`);
      return recreateTree(update, snapshot);
    }
    reverted.push(patch.name);
  }
  return applyAndRecord(update, { applied, toApply: plan.toApply, snapshot, reverted, recreated: false, dirty: reverting.length > 0 });
}

/**
 * Taken before any change, so mtimes can be put right afterwards: the files that differ from the
 * pristine tree, which are the ones any patch changed, recorded or not.
 */
async function snapshotChangeableFiles(treeDir: string): Promise<Map<string, FileSnapshot>> {
  return snapshotFiles(treeDir, await listDivergedFiles(treeDir));
}

async function inspectTree({ treeDir, pristineDir }: TreeUpdate): Promise<TreeCondition> {
  const entries = await fs.readdir(treeDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (entries === undefined || entries.length === 0) return { kind: 'missing' };
  // Recreating deletes the tree: never do that to a directory this lib did not make.
  if (!entries.includes(STATE_DIR_NAME)) {
    throw new KernelBuildError(
      `${treeDir} exists but is not a patched tree made by this build (it has no ${STATE_DIR_NAME}/); refusing to replace it`,
      'Point treeDir at a directory of its own (e.g. .kbuild/trees/<project>), or delete this one if it is disposable.',
    );
  }
  if (await isTreeDirty(treeDir)) return { kind: 'stale', reason: 'a previous run was interrupted while changing it' };
  const reading = await readTreeState(treeDir);
  if ('problem' in reading) return { kind: 'stale', reason: reading.problem };
  if (reading.state.pristineDir !== pristineDir) {
    return { kind: 'stale', reason: `it was made from ${reading.state.pristineDir}, not ${pristineDir}` };
  }
  return { kind: 'reusable', state: reading.state };
}

async function recreateTree(update: TreeUpdate, snapshot: Map<string, FileSnapshot>): Promise<PatchedTree> {
  const { pristineDir, treeDir, desired } = update;
  const staging = stagingDir(treeDir);
  await fs.rm(staging, { recursive: true, force: true });
  await copyTreeAsHardlinks(pristineDir, staging);
  await markTreeDirty(staging);
  // Swap by renames so treeDir is never a half-copied tree; the dirty mark covers the rest.
  const hadTree = await fs.rename(treeDir, discardedDir(treeDir)).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  await fs.rename(staging, treeDir);
  if (hadTree) await fs.rm(discardedDir(treeDir), { recursive: true, force: true });
  return applyAndRecord(update, { applied: [], toApply: desired, snapshot, reverted: [], recreated: true, dirty: true });
}

/**
 * Applies patches in order, each checked by a dry run first so a failing one leaves the tree as
 * it was; then records what is applied, also when a patch failed, so the next run resumes there.
 * `dirty`: the tree was already changed (and marked so) on this run.
 */
async function applyAndRecord(
  update: TreeUpdate,
  progress: { applied: AppliedPatch[]; toApply: LoadedPatch[]; snapshot: Map<string, FileSnapshot>; reverted: string[]; recreated: boolean; dirty: boolean },
): Promise<PatchedTree> {
  const { pristineDir, treeDir, log } = update;
  const applied = [...progress.applied];
  const appliedNow: string[] = [];
  let dirty = progress.dirty;
  let failure: KernelBuildError | undefined;
  for (const patch of progress.toApply) {
    const dryRun = await runGnuPatch(treeDir, applyPatchArgs({ dryRun: true }), patch.content);
    if (!dryRun.ok) {
      failure = await patchDoesNotApplyError({ patch, treeDir, run: dryRun });
      break;
    }
    log(`applying ${patch.name}`);
    if (!dirty) await markTreeDirty(treeDir);
    dirty = true;
    const run = await runGnuPatch(treeDir, applyPatchArgs(), patch.content);
    if (!run.ok) {
      // The dirty mark stays: the next run recreates the tree.
      throw new KernelBuildError(
        `${patchDisplayPath(patch)} passed a dry run but then failed to apply to ${treeDir}`,
        'Run the build again: the tree will be recreated from the pristine tree.',
        run.output.trimEnd(),
      );
    }
    await keepAppliedCopy(treeDir, patch);
    applied.push({ name: patch.name, sha256: patch.sha256 });
    appliedNow.push(patch.name);
  }
  if (dirty) await recordTree(update, { pristineDir, applied }, progress.snapshot);
  if (failure) throw failure;
  return { treeDir, applied: appliedNow, reverted: progress.reverted, recreated: progress.recreated };
}

async function recordTree({ treeDir, lock }: TreeUpdate, record: Omit<TreeState, 'version'>, snapshot: Map<string, FileSnapshot>): Promise<void> {
  await reconcileFileTimes(treeDir, snapshot);
  lock.assertHeld();
  const state: TreeState = { version: 1, ...record };
  await writeTreeState(treeDir, state);
  await clearTreeDirty(treeDir);
  await pruneAppliedCopies(treeDir, state);
}

async function keepAppliedCopy(treeDir: string, patch: LoadedPatch): Promise<void> {
  const copy = appliedCopyPath(treeDir, patch.sha256);
  await fs.mkdir(path.dirname(copy), { recursive: true });
  await fs.writeFile(copy, patch.content);
}

/** Reads, hashes, parses and checks every patch before the tree is touched. */
async function loadSeries(patches: PatchFile[]): Promise<LoadedPatch[]> {
  const loaded: LoadedPatch[] = [];
  for (const patch of patches) {
    const content = await fs.readFile(patch.path).catch((error: NodeJS.ErrnoException) => {
      throw new KernelBuildError(`cannot read patch ${patchDisplayPath(patch)}: ${error.code ?? error.message}`, 'Check the series: the patch list names a file that is not there.');
    });
    const parsed = parsePatch(content.toString('utf8'), patchDisplayPath(patch));
    assertPatchPathsInsideTree(parsed);
    loaded.push({ name: patch.name, path: patch.path, sha256: sha256(content), content, parsed });
  }
  return loaded;
}

/** The kept copies of applied patches, or undefined when one is missing or not what was applied. */
async function loadAppliedCopies(treeDir: string, patches: AppliedPatch[]): Promise<(AppliedPatch & { content: Buffer })[] | undefined> {
  const loaded: (AppliedPatch & { content: Buffer })[] = [];
  for (const patch of patches) {
    const content = await fs.readFile(appliedCopyPath(treeDir, patch.sha256)).catch(() => undefined);
    if (!content || sha256(content) !== patch.sha256) return undefined;
    loaded.push({ ...patch, content });
  }
  return loaded;
}

function assertSeparateTrees(pristineDir: string, treeDir: string): void {
  const inside = (dir: string, parent: string) => {
    const relative = path.relative(parent, dir);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  };
  if (inside(treeDir, pristineDir) || inside(pristineDir, treeDir)) {
    throw new KernelBuildError(
      `the patched tree ${treeDir} and the pristine tree ${pristineDir} overlap`,
      'Give the project a tree directory of its own, outside the pristine source tree.',
    );
  }
}

async function assertDirectory(pristineDir: string): Promise<void> {
  const stat = await fs.stat(pristineDir).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new KernelBuildError(`the pristine kernel tree ${pristineDir} does not exist`, 'Fetch and extract the kernel source first.');
  }
}

function stagingDir(treeDir: string): string {
  return `${treeDir}.staging`;
}

function discardedDir(treeDir: string): string {
  return `${treeDir}.discarded`;
}
