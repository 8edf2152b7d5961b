import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';

/** A patch of a series: `name` identifies it (e.g. '0001-foo.patch'), `path` is where it is read from. */
export interface PatchFile {
  name: string;
  path: string;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Byte order, as `ls` under LC_ALL=C sorts, so the numeric prefixes order the series the same everywhere. */
export function compareFileNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The `*.patch` files of a directory in apply order (file-name byte order); a missing directory has none. */
export async function listSeriesPatches(dir: string): Promise<PatchFile[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const candidates = names.filter((name) => name.endsWith('.patch')).sort(compareFileNames);
  const patches: PatchFile[] = [];
  for (const name of candidates) {
    const patchPath = path.join(dir, name);
    // stat follows symlinks: a linked patch counts, a dangling link (an editor's lock file) does not.
    const stat = await fs.stat(patchPath).catch(() => undefined);
    if (stat?.isFile()) patches.push({ name, path: patchPath });
  }
  return patches;
}

/** sha256 over the series' names and contents in order: changes when a patch is added, removed, renamed, reordered or edited. */
export async function patchSeriesDigest(patches: PatchFile[]): Promise<string> {
  const entries: [string, string][] = [];
  for (const patch of patches) entries.push([patch.name, sha256(await fs.readFile(patch.path))]);
  return sha256(JSON.stringify(entries));
}

/** How messages name a patch: relative to the working directory when under it (`kernels/6.12/patches/0001-foo.patch`). */
export function patchDisplayPath(patch: PatchFile): string {
  const relative = path.relative(process.cwd(), patch.path);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : patch.path;
}
