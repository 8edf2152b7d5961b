import { createHash } from 'crypto';
import execa from 'execa';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PatchFile } from '../patch-series';

/** A tiny "kernel": a few files of numbered lines, enough context for hunks to fail or fuzz. */
export const PRISTINE_FILES: Record<string, string> = {
  Makefile: 'VERSION = 6\nPATCHLEVEL = 12\n',
  'mm/slab.c': numberedLines('slab line', 40),
  'kernel/sched.c': numberedLines('sched line', 40),
  'drivers/net/dummy.c': numberedLines('dummy line', 20),
  'include/linux/slab.h': numberedLines('slab.h line', 10),
};

export function numberedLines(prefix: string, count: number): string {
  return Array.from({ length: count }, (_, index) => `${prefix} ${index + 1}\n`).join('');
}

/** `content` with the whole line `line` replaced. */
export function replaceLine(content: string, line: string, replacement: string): string {
  const lines = content.split('\n');
  const index = lines.indexOf(line);
  if (index < 0) throw new Error(`fixture: no line "${line}"`);
  lines[index] = replacement;
  return lines.join('\n');
}

/** New file contents by path; null deletes the file. */
export type Edits = Record<string, string | null | ((current: string) => string)>;

const GIT_ENV = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Test Author', GIT_AUTHOR_EMAIL: 'author@example.org', GIT_COMMITTER_NAME: 'Test Author', GIT_COMMITTER_EMAIL: 'author@example.org' };

/**
 * A temp directory with a pristine tree, a git repository of the same files to write patches
 * from (as a kernel developer would, with git format-patch), and a patches directory.
 */
export class SeriesWorkspace {
  readonly pristineDir: string;
  readonly treeDir: string;
  readonly patchesDir: string;
  readonly upstreamDir: string;
  /** The commit holding the pristine files. */
  base = '';

  private constructor(readonly root: string) {
    this.pristineDir = path.join(root, 'store', 'linux-6.12');
    this.treeDir = path.join(root, '.kbuild', 'trees', 'kernel-6.12');
    this.patchesDir = path.join(root, 'kernels', '6.12', 'patches');
    this.upstreamDir = path.join(root, 'upstream');
  }

  static async create(): Promise<SeriesWorkspace> {
    const workspace = new SeriesWorkspace(await fs.mkdtemp(path.join(os.tmpdir(), 'patched-tree-')));
    await writeFiles(workspace.pristineDir, PRISTINE_FILES);
    await writeFiles(workspace.upstreamDir, PRISTINE_FILES);
    await fs.mkdir(workspace.patchesDir, { recursive: true });
    await workspace.git('init', '-q');
    workspace.base = await workspace.commit('linux 6.12', {});
    return workspace;
  }

  /** Commits `edits` on `base` (default: the last commit) and returns the commit. */
  async commit(message: string, edits: Edits, options: { base?: string } = {}): Promise<string> {
    if (options.base) await this.git('checkout', '-q', '--detach', options.base);
    for (const [file, edit] of Object.entries(edits)) {
      const target = path.join(this.upstreamDir, file);
      if (edit === null) await fs.rm(target);
      else {
        const content = typeof edit === 'function' ? edit(await fs.readFile(target, 'utf8')) : edit;
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, content);
      }
    }
    await this.git('add', '-A');
    await this.git('commit', '-q', '-s', '--allow-empty', '-m', message);
    return (await this.git('rev-parse', 'HEAD')).stdout;
  }

  /** Commits `edits` and writes that commit as `patches/<name>` with git format-patch. */
  async writePatch(name: string, message: string, edits: Edits, options: { base?: string } = {}): Promise<PatchFile> {
    await this.commit(message, edits, options);
    const patchPath = path.join(this.patchesDir, name);
    await fs.writeFile(patchPath, (await this.git('format-patch', '-1', '--stdout', 'HEAD')).stdout + '\n');
    return { name, path: patchPath };
  }

  readTree(file: string): Promise<string> {
    return fs.readFile(path.join(this.treeDir, file), 'utf8');
  }

  cleanup(): Promise<void> {
    return fs.rm(this.root, { recursive: true, force: true });
  }

  private git(...args: string[]) {
    return execa('git', args, { cwd: this.upstreamDir, env: GIT_ENV });
  }
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), content);
  }
}

export interface EntryStamp {
  ino: bigint;
  mtimeNs: bigint;
  sha256?: string;
}

/** Inode and mtime of every entry under `dir` (directories included): what make and a rebuild see. */
export async function stampTree(dir: string, options: { withContent?: boolean } = {}): Promise<Map<string, EntryStamp>> {
  const stamps = new Map<string, EntryStamp>();
  const walk = async (relative: string): Promise<void> => {
    const absolute = path.join(dir, relative);
    const stat = await fs.lstat(absolute, { bigint: true });
    const stamp: EntryStamp = { ino: stat.ino, mtimeNs: stat.mtimeNs };
    if (options.withContent && stat.isFile()) {
      stamp.sha256 = createHash('sha256').update(await fs.readFile(absolute)).digest('hex');
    }
    stamps.set(relative || '.', stamp);
    if (stat.isDirectory()) for (const name of (await fs.readdir(absolute)).sort()) await walk(path.join(relative, name));
  };
  await walk('');
  return stamps;
}

const LONG_AGO = new Date('2001-01-01T00:00:00Z');

/**
 * Sets the files a patch replaced back to 2001, so a later "kept its mtime" is not a
 * coincidence of the file system's coarse clock. Hard-linked files are left alone: their
 * inode is the pristine tree's.
 */
export async function backdatePatchedFiles(treeDir: string): Promise<void> {
  for (const [relative] of await stampTree(treeDir)) {
    const absolute = path.join(treeDir, relative);
    const stat = await fs.lstat(absolute);
    if (stat.isFile() && stat.nlink === 1) await fs.utimes(absolute, LONG_AGO, LONG_AGO);
  }
}

export function isLongAgo(stamp: EntryStamp | undefined): boolean {
  return stamp !== undefined && stamp.mtimeNs / 1_000_000_000n === BigInt(LONG_AGO.getTime() / 1000);
}
