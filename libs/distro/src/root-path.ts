import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';

// Linux gives up on a lookup after 40 symlinks.
const MAX_SYMLINK_HOPS = 40;

function components(name: string): string[] {
  return name.split('/').filter((part) => part !== '' && part !== '.');
}

function lexical(parts: string[]): string[] {
  const resolved: string[] = [];
  for (const part of parts) {
    if (part === '..') resolved.pop();
    else resolved.push(part);
  }
  return resolved;
}

export interface RootPath {
  /** Root-relative, no symlinks left in it (past the first missing component, resolved lexically). */
  path: string;
  exists: boolean;
}

/**
 * Resolves `name` (relative to `root`) the way the kernel would if `root` were `/`: absolute
 * symlink targets start again at `root`, and '..' never climbs above it. The unpacked packages are
 * the filesystem their symlinks were written for.
 */
export async function resolveInRoot(root: string, name: string): Promise<RootPath> {
  const queue = components(name);
  const resolved: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const stat = await fs.lstat(candidate).catch(() => undefined);
    if (!stat) return { path: lexical([...resolved, part, ...queue]).join('/'), exists: false };
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) {
      throw new KernelBuildError(`/${name} does not resolve: more than ${MAX_SYMLINK_HOPS} symlinks (a loop) in the packages`, 'report the packages to their distribution');
    }
    const target = await fs.readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    queue.unshift(...components(target));
  }
  return { path: resolved.join('/'), exists: true };
}
