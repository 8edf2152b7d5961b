import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelProject, KERNELS_DIR } from './kernel-spec';

/** What a kernel image is built from besides its own directories: shared inputs and the build code. */
export const SHARED_INPUT_PATHS = [`${KERNELS_DIR}/common`, 'libs', 'tools/kernel-plugin'];

export interface InputHash {
  /** 12 hex digits over the paths and contents of every input file. */
  hash: string;
  /** True when any input differs from the commit (modified, staged or untracked). */
  dirty: boolean;
  files: number;
}

export function inputPaths(project: Pick<KernelProject, 'chain'>): string[] {
  return [...project.chain.map((dir) => `${KERNELS_DIR}/${dir}`), ...SHARED_INPUT_PATHS];
}

function isHashedInput(file: string): boolean {
  return !file.endsWith('.spec.ts') && !file.includes('/__fixtures__/');
}

/**
 * The <hash> of the image tags, like the original's hash of the series directory plus the shared
 * build files. Contents are read from the working tree, so two different dirty states never share
 * a tag (the original's fixed `-dirty` tag made iterations hit a stale image).
 */
export async function computeInputHash(workspaceRoot: string, project: Pick<KernelProject, 'chain'>): Promise<InputHash> {
  const paths = inputPaths(project);
  const git = (args: string[]) => execa('git', args, { cwd: workspaceRoot, reject: false });
  const listed = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...paths]);
  let files: string[];
  let dirty: boolean;
  if (listed.exitCode === 0) {
    files = listed.stdout.split('\0').filter(Boolean);
    const status = await git(['status', '--porcelain', '--untracked-files=all', '--', ...paths]);
    dirty = status.exitCode !== 0 || status.stdout.trim() !== '';
  } else {
    files = paths.flatMap((dir) => listFilesRecursively(workspaceRoot, dir));
    dirty = true;
  }
  const digest = crypto.createHash('sha256');
  const hashed = [...new Set(files)].filter(isHashedInput).sort();
  for (const file of hashed) {
    const absolute = path.join(workspaceRoot, file);
    if (!fs.existsSync(absolute)) continue; // deleted but not yet committed: its absence is the change
    digest.update(`${file}\0`);
    digest.update(crypto.createHash('sha256').update(fs.readFileSync(absolute)).digest());
  }
  return { hash: digest.digest('hex').slice(0, 12), dirty, files: hashed.length };
}

function listFilesRecursively(root: string, dir: string): string[] {
  const absolute = path.join(root, dir);
  if (!fs.existsSync(absolute)) return [];
  return fs.readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : listFilesRecursively(root, relative);
    return [relative];
  });
}
