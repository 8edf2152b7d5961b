import execa from 'execa';
import { promises as fs } from 'fs';
import * as path from 'path';
import { sha256 } from './patch-series';
import { STATE_DIR_NAME } from './tree-state';

export interface FileSnapshot {
  sha256: string;
  mtimeNs: bigint;
}

/**
 * The tree's files that are no longer hard links of the pristine tree: those patches (or an
 * edit) replaced. `cp -al` gives every pristine file a link count of at least 2; a file GNU
 * patch writes is new and has 1.
 */
export async function listDivergedFiles(treeDir: string): Promise<string[]> {
  const found = await execa('find', ['.', '-path', `./${STATE_DIR_NAME}`, '-prune', '-o', '-type', 'f', '-links', '1', '-printf', '%P\\0'], { cwd: treeDir });
  return found.stdout.split('\0').filter(Boolean);
}

/** Content hash and mtime of the given tree files that exist, before the tree is changed. */
export async function snapshotFiles(treeDir: string, relativePaths: Iterable<string>): Promise<Map<string, FileSnapshot>> {
  const snapshot = new Map<string, FileSnapshot>();
  for (const relativePath of new Set(relativePaths)) {
    const file = path.join(treeDir, relativePath);
    const stat = await fs.lstat(file, { bigint: true }).catch(() => undefined);
    if (stat?.isFile()) snapshot.set(relativePath, { sha256: sha256(await fs.readFile(file)), mtimeNs: stat.mtimeNs });
  }
  return snapshot;
}

/**
 * Makes the mtimes of the snapshotted files tell make the truth after the tree changed:
 * - a file whose content ended up as before (a patch reverted and applied again, or exported
 *   again with only its message changed) gets its old mtime back, so nothing is rebuilt for it;
 * - a file that is a pristine hard link again but whose content differs from before (a
 *   recreated tree without a patch that changed it) gets a copy of its own, dated now: the
 *   pristine file's old date would make the objects built from the patched content look current.
 * A file still hard-linked to the pristine tree is never touched: its inode, and so its mtime, is shared.
 */
export async function reconcileFileTimes(treeDir: string, snapshot: Map<string, FileSnapshot>): Promise<void> {
  for (const [relativePath, before] of snapshot) {
    const file = path.join(treeDir, relativePath);
    const stat = await fs.lstat(file, { bigint: true }).catch(() => undefined);
    if (!stat?.isFile() || stat.mtimeNs === before.mtimeNs) continue;
    const unchanged = sha256(await fs.readFile(file)) === before.sha256;
    if (stat.nlink === 1n && unchanged) await fs.utimes(file, nanosecondsToSeconds(stat.atimeNs), nanosecondsToSeconds(before.mtimeNs));
    else if (stat.nlink > 1n && !unchanged) await detachFromPristine(file);
  }
}

async function detachFromPristine(file: string): Promise<void> {
  const copy = `${file}.kbuild-detached`;
  await fs.copyFile(file, copy);
  await fs.rename(copy, file);
}

// utimes takes seconds as a double: microseconds survive that, nanoseconds do not.
function nanosecondsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
