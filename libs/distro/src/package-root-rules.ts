/** An archive member as both extractors (node-tar for .deb, the cpio guard for .rpm) report it. */
export interface PackageEntry {
  /** Relative to the package root, without './' or a trailing '/'; '' is the root itself. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'device';
  /** The symlink's target as stored, or the hard link's member name. */
  linkTarget?: string;
}

/** Why an archive is refused: a member and its fault, or (without member) why it cannot be read at all. */
export interface MemberRefusal {
  entry?: string;
  reason: string;
}

/** The member name as a path inside the root: './usr/' and 'usr' are the same entry. */
export function normalizeMemberName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '').replace(/\/{2,}/g, '/');
}

function escapeReason(name: string): string | undefined {
  if (name.startsWith('/')) return 'has an absolute path';
  if (name.split('/').includes('..')) return "has a '..' component";
  return undefined;
}

/**
 * Decides, member by member, whether one more package may be unpacked into the root that all the
 * packages of a kernel share. A member may not leave the root (absolute name, '..'), be written
 * through a symlink another member made, or be a device; and two packages may share directories
 * only, as dpkg and rpm would insist. Symlink targets are not judged: they are data, resolved later
 * inside the root (an absolute one like `build -> /usr/src/linux-headers-…` is normal in a package).
 */
export class PackageRootRules {
  private readonly symlinks = new Set<string>();
  private readonly owners = new Map<string, { owner: string; type: PackageEntry['type'] }>();

  /** Why `entry` of the package `owner` must not be unpacked, or undefined when it may. */
  check(entry: PackageEntry, owner: string): string | undefined {
    const name = entry.path;
    if (name === '' || name === '.') return undefined;
    const escape = escapeReason(name);
    if (escape) return escape;
    if (entry.type === 'device') return 'is a device node or FIFO, which a kernel package never needs';
    const through = this.symlinkAbove(name);
    if (through) return `is below the symlink ${through}, so it would be written wherever that points`;
    if (entry.type === 'hardlink') {
      const target = normalizeMemberName(entry.linkTarget ?? '');
      const targetEscape = target ? escapeReason(target) : 'has no target';
      if (targetEscape) return `is a hard link whose target ${entry.linkTarget ?? ''} ${targetEscape}`;
      const targetThrough = this.symlinkAbove(target) ?? (this.symlinks.has(target) ? target : undefined);
      if (targetThrough) return `is a hard link to ${target}, through the symlink ${targetThrough}`;
    }

    const previous = this.owners.get(name);
    if (previous && !(previous.type === 'directory' && entry.type === 'directory')) {
      return previous.owner === owner ? 'appears twice in the package' : `is also shipped by ${previous.owner}`;
    }
    this.owners.set(name, { owner, type: entry.type });
    if (entry.type === 'symlink') this.symlinks.add(name);
    return undefined;
  }

  private symlinkAbove(name: string): string | undefined {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) return prefix;
    }
    return undefined;
  }
}
