import { promises as fs } from 'fs';
import * as path from 'path';
import writeFileAtomic from 'write-file-atomic';

/** A patch as recorded in a tree: its name and the sha256 of the content that was applied. */
export interface AppliedPatch {
  name: string;
  sha256: string;
}

/** What `.kbuild-patches/state.json` says about a patched tree. */
export interface TreeState {
  version: 1;
  pristineDir: string;
  applied: AppliedPatch[];
}

/** Kept inside the tree so that the tree and its record are created, moved and deleted together. */
export const STATE_DIR_NAME = '.kbuild-patches';

export function stateDir(treeDir: string): string {
  return path.join(treeDir, STATE_DIR_NAME);
}

function stateFile(treeDir: string): string {
  return path.join(stateDir(treeDir), 'state.json');
}

function dirtyMarker(treeDir: string): string {
  return path.join(stateDir(treeDir), 'dirty');
}

/** Where applied patches are kept, by content, to reverse them after the originals changed. */
function appliedCopiesDir(treeDir: string): string {
  return path.join(stateDir(treeDir), 'applied');
}

export function appliedCopyPath(treeDir: string, sha256: string): string {
  return path.join(appliedCopiesDir(treeDir), `${sha256}.patch`);
}

export type TreeStateReading = { state: TreeState } | { problem: string };

export async function readTreeState(treeDir: string): Promise<TreeStateReading> {
  let text: string;
  try {
    text = await fs.readFile(stateFile(treeDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { problem: `${stateFile(treeDir)} is missing` };
    throw error;
  }
  try {
    const state: unknown = JSON.parse(text);
    if (isTreeState(state)) return { state };
  } catch {
    // falls through: unreadable JSON is as corrupt as JSON of the wrong shape
  }
  return { problem: `${stateFile(treeDir)} is corrupt` };
}

function isTreeState(value: unknown): value is TreeState {
  const state = value as TreeState;
  return (
    typeof state === 'object' &&
    state !== null &&
    state.version === 1 &&
    typeof state.pristineDir === 'string' &&
    Array.isArray(state.applied) &&
    state.applied.every((patch) => typeof patch?.name === 'string' && /^[0-9a-f]{64}$/.test(patch?.sha256))
  );
}

export async function writeTreeState(treeDir: string, state: TreeState): Promise<void> {
  await fs.mkdir(stateDir(treeDir), { recursive: true });
  await writeFileAtomic(stateFile(treeDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** Marks the tree as being changed: a run that finds the mark knows the state file may be wrong. */
export async function markTreeDirty(treeDir: string): Promise<void> {
  await fs.mkdir(stateDir(treeDir), { recursive: true });
  await writeFileAtomic(dirtyMarker(treeDir), `${process.pid} ${new Date().toISOString()}\n`);
}

export async function clearTreeDirty(treeDir: string): Promise<void> {
  await fs.rm(dirtyMarker(treeDir), { force: true });
}

export async function isTreeDirty(treeDir: string): Promise<boolean> {
  return fs.access(dirtyMarker(treeDir)).then(
    () => true,
    () => false,
  );
}

/** Removes applied copies the state no longer refers to. */
export async function pruneAppliedCopies(treeDir: string, state: TreeState): Promise<void> {
  const dir = appliedCopiesDir(treeDir);
  const referenced = new Set(state.applied.map((patch) => appliedCopyPath(treeDir, patch.sha256)));
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const unreferenced = names.map((name) => path.join(dir, name)).filter((copy) => !referenced.has(copy));
  await Promise.all(unreferenced.map((copy) => fs.rm(copy, { force: true })));
}

export interface SeriesUpdate<T extends AppliedPatch> {
  /** How many recorded patches stay applied: the longest common prefix. */
  kept: number;
  /** Recorded patches after that prefix, last applied first. */
  toRevert: AppliedPatch[];
  /** Desired patches after that prefix, in apply order. */
  toApply: T[];
}

/** What turns a tree patched with `recorded` into one patched with `desired`, touching the least. */
export function planSeriesUpdate<T extends AppliedPatch>(recorded: AppliedPatch[], desired: T[]): SeriesUpdate<T> {
  let kept = 0;
  while (kept < recorded.length && kept < desired.length && recorded[kept].name === desired[kept].name && recorded[kept].sha256 === desired[kept].sha256) kept++;
  return { kept, toRevert: recorded.slice(kept).reverse(), toApply: desired.slice(kept) };
}
