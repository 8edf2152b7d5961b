/** What the rules need of a tar entry, after pax and GNU long-name headers were applied. */
export interface TarEntryHeader {
  path: string;
  /** node-tar's type name: File, Directory, SymbolicLink, Link, CharacterDevice … */
  type: string;
  linkpath?: string;
}

export interface TarEntryViolation {
  entry: string;
  reason: string;
}

const REGULAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
const SPECIAL_TYPES: Record<string, string> = {
  CharacterDevice: 'is a character device',
  BlockDevice: 'is a block device',
  FIFO: 'is a FIFO',
};
// Linux gives up on a lookup after 40 symlinks; a loop is harmless to extraction, only escapes matter.
const MAX_SYMLINK_HOPS = 40;

function components(name: string): string[] {
  return name.split('/').filter((part) => part !== '' && part !== '.');
}

type Resolution = string[] | 'outside' | 'loop';

/**
 * Decides, entry by entry, whether extracting a tar could touch anything outside the target
 * directory. `stripComponents` is what `tar --strip-components` will remove; with it, every entry
 * must sit under one top directory. Symlinks are resolved through the links seen so far (per entry)
 * and again through all of them at the end, so a chain of individually harmless links cannot
 * escape either.
 */
export class TarEntryRules {
  /** Symlinks so far, by path inside the (stripped) tree. */
  private readonly symlinks = new Map<string, { target: string; entry: string }>();
  private topDirectory: string | undefined;

  constructor(private readonly stripComponents = 0) {}

  check(entry: TarEntryHeader): TarEntryViolation | undefined {
    const reason = this.reasonToRefuse(entry);
    return reason ? { entry: entry.path, reason } : undefined;
  }

  /** Checks that need the whole listing; call once after the last entry. */
  finish(): TarEntryViolation | undefined {
    for (const [key, { target, entry }] of this.symlinks) {
      if (this.resolve([...components(key).slice(0, -1), ...components(target)]) === 'outside') {
        return { entry, reason: `is a symlink to ${target}, which resolves outside the tree through other symlinks` };
      }
    }
    return undefined;
  }

  private reasonToRefuse(entry: TarEntryHeader): string | undefined {
    if (entry.path.startsWith('/')) return 'has an absolute path';
    const parts = components(entry.path);
    if (parts.includes('..')) return "has a '..' component";
    if (SPECIAL_TYPES[entry.type]) return SPECIAL_TYPES[entry.type];
    if (!REGULAR_TYPES.has(entry.type) && entry.type !== 'SymbolicLink' && entry.type !== 'Link') {
      return `has an unsupported type (${entry.type})`;
    }
    if (this.stripComponents > 0 && parts.length > 0) {
      this.topDirectory ??= parts[0];
      if (parts[0] !== this.topDirectory) return `is outside the top directory ${this.topDirectory}/ (a source tarball has exactly one)`;
    }
    const inTree = parts.slice(this.stripComponents);
    if (inTree.length === 0) return undefined; // tar skips what stripping empties
    const through = this.symlinkPrefix(inTree);
    if (through) return `is below the symlink ${through}`;
    const key = inTree.join('/');

    if (entry.type === 'SymbolicLink') return this.addSymlink(key, entry.path, entry.linkpath ?? '');
    if (entry.type === 'Link') return this.addHardLink(key, entry.path, entry.linkpath ?? '');
    this.symlinks.delete(key);
    return undefined;
  }

  private addSymlink(key: string, entry: string, target: string): string | undefined {
    if (!target) return 'is a symlink without a target';
    if (target.startsWith('/')) return `is a symlink to the absolute path ${target}`;
    if (this.resolve([...components(key).slice(0, -1), ...components(target)]) === 'outside') {
      return `is a symlink to ${target}, which resolves outside the tree`;
    }
    this.symlinks.set(key, { target, entry });
    return undefined;
  }

  private addHardLink(key: string, entry: string, target: string): string | undefined {
    if (!target) return 'is a hard link without a target';
    if (target.startsWith('/')) return `is a hard link to the absolute path ${target}`;
    const parts = components(target);
    const top = this.stripComponents > 0 ? this.topDirectory : undefined;
    if (parts.includes('..') || parts.length <= this.stripComponents || (top !== undefined && parts[0] !== top)) {
      return `is a hard link to ${target}, outside the tree`;
    }
    const inTree = parts.slice(this.stripComponents);
    const through = this.symlinkPrefix(inTree);
    if (through) return `is a hard link to ${target}, below the symlink ${through}`;
    // A hard link to a symlink is a second symlink with the same target, now relative to `key`.
    const linkedSymlink = this.symlinks.get(inTree.join('/'));
    if (linkedSymlink !== undefined) return this.addSymlink(key, entry, linkedSymlink.target);
    this.symlinks.delete(key);
    return undefined;
  }

  /** The entry name of a symlink that `inTree` would be written through. */
  private symlinkPrefix(inTree: string[]): string | undefined {
    for (let i = 1; i < inTree.length; i++) {
      const symlink = this.symlinks.get(inTree.slice(0, i).join('/'));
      if (symlink) return symlink.entry;
    }
    return undefined;
  }

  /** Resolves a path inside the tree the way the kernel would, following the symlinks known so far. */
  private resolve(parts: string[], budget = { hops: 0 }): Resolution {
    const resolved: string[] = [];
    for (const part of parts) {
      if (part === '..') {
        if (resolved.length === 0) return 'outside';
        resolved.pop();
        continue;
      }
      resolved.push(part);
      const target = this.symlinks.get(resolved.join('/'))?.target;
      if (target === undefined) continue;
      if (++budget.hops > MAX_SYMLINK_HOPS) return 'loop';
      if (target.startsWith('/')) return 'outside';
      const next = this.resolve([...resolved.slice(0, -1), ...components(target)], budget);
      if (next === 'outside' || next === 'loop') return next;
      resolved.splice(0, resolved.length, ...next);
    }
    return resolved;
  }
}

