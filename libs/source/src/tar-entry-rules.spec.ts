import { TarEntryHeader, TarEntryRules } from './tar-entry-rules';

function firstRefusal(entries: TarEntryHeader[], stripComponents = 1) {
  const rules = new TarEntryRules(stripComponents);
  for (const entry of entries) {
    const violation = rules.check(entry);
    if (violation) return violation;
  }
  return rules.finish();
}

const dir = (path: string): TarEntryHeader => ({ path, type: 'Directory' });
const file = (path: string): TarEntryHeader => ({ path, type: 'File' });
const symlink = (path: string, linkpath: string): TarEntryHeader => ({ path, type: 'SymbolicLink', linkpath });
const hardlink = (path: string, linkpath: string): TarEntryHeader => ({ path, type: 'Link', linkpath });

describe('TarEntryRules', () => {
  it('accepts a source tree with relative symlinks that stay inside it', () => {
    expect(
      firstRefusal([
        dir('linux-6.12.1/'),
        file('linux-6.12.1/Makefile'),
        dir('linux-6.12.1/scripts/dtc/include-prefixes/'),
        symlink('linux-6.12.1/scripts/dtc/include-prefixes/arm64', '../../../arch/arm64/boot/dts'),
        symlink('linux-6.12.1/Documentation/Changes', 'process/changes.rst'),
        hardlink('linux-6.12.1/COPYING-again', 'linux-6.12.1/COPYING'),
      ]),
    ).toBeUndefined();
  });

  it('refuses absolute paths and .. components', () => {
    expect(firstRefusal([file('/etc/evil')], 0)).toEqual({ entry: '/etc/evil', reason: 'has an absolute path' });
    expect(firstRefusal([file('../evil')], 0)).toEqual({ entry: '../evil', reason: "has a '..' component" });
    expect(firstRefusal([file('linux/a/../../evil')])).toEqual({ entry: 'linux/a/../../evil', reason: "has a '..' component" });
  });

  it('refuses devices, FIFOs and types an extractor would guess at', () => {
    expect(firstRefusal([{ path: 'linux/dev/sda', type: 'BlockDevice' }])?.reason).toBe('is a block device');
    expect(firstRefusal([{ path: 'linux/null', type: 'CharacterDevice' }])?.reason).toBe('is a character device');
    expect(firstRefusal([{ path: 'linux/pipe', type: 'FIFO' }])?.reason).toBe('is a FIFO');
    expect(firstRefusal([{ path: 'linux/x', type: 'GNUDumpDir' }])?.reason).toBe('has an unsupported type (GNUDumpDir)');
  });

  it('refuses symlinks to absolute paths or out of the tree, judged after stripping the top directory', () => {
    expect(firstRefusal([symlink('linux/etc', '/etc')])?.reason).toBe('is a symlink to the absolute path /etc');
    expect(firstRefusal([symlink('linux/link', '../../outside')])).toEqual({ entry: 'linux/link', reason: 'is a symlink to ../../outside, which resolves outside the tree' });
    // Inside the archive, but above the stripped tree:
    expect(firstRefusal([symlink('linux/up', '../linux/Makefile')], 1)?.reason).toMatch(/resolves outside the tree/);
    expect(firstRefusal([symlink('linux/up', '../linux/Makefile')], 0)).toBeUndefined();
  });

  it('refuses an entry below a symlink, even one pointing inside the tree', () => {
    expect(firstRefusal([dir('linux/sub/'), symlink('linux/alias', 'sub'), file('linux/alias/file')])).toEqual({ entry: 'linux/alias/file', reason: 'is below the symlink linux/alias' });
  });

  it('refuses hard links to absolute paths, out of the tree, or through a symlink', () => {
    expect(firstRefusal([hardlink('linux/passwd', '/etc/passwd')])?.reason).toBe('is a hard link to the absolute path /etc/passwd');
    expect(firstRefusal([hardlink('linux/passwd', 'linux/../../etc/passwd')])?.reason).toMatch(/outside the tree/);
    expect(firstRefusal([dir('linux/'), hardlink('linux/other', 'other-top/file')])?.reason).toMatch(/outside the tree/);
    expect(firstRefusal([symlink('linux/alias', 'sub'), hardlink('linux/x', 'linux/alias/file')])?.reason).toBe('is a hard link to linux/alias/file, below the symlink linux/alias');
  });

  it('judges a hard link to a symlink as that symlink placed at the new path', () => {
    const entries = [dir('linux/a/b/'), symlink('linux/a/b/up', '../../Makefile'), hardlink('linux/up', 'linux/a/b/up')];
    expect(firstRefusal(entries)).toEqual({ entry: 'linux/up', reason: 'is a symlink to ../../Makefile, which resolves outside the tree' });
  });

  it('follows chains of symlinks, whatever order they come in', () => {
    const escapeVia = symlink('linux/c', 'a/b/..');
    const parentLink = symlink('linux/a/b', '..');
    expect(firstRefusal([dir('linux/a/'), parentLink, escapeVia])).toEqual({ entry: 'linux/c', reason: 'is a symlink to a/b/.., which resolves outside the tree' });
    expect(firstRefusal([dir('linux/a/'), escapeVia, parentLink])).toEqual({ entry: 'linux/c', reason: 'is a symlink to a/b/.., which resolves outside the tree through other symlinks' });
  });

  it('accepts a symlink loop: it cannot write anything anywhere', () => {
    expect(firstRefusal([symlink('linux/x', 'y'), symlink('linux/y', 'x')])).toBeUndefined();
  });

  it('refuses a second top-level directory when the top directory is stripped', () => {
    expect(firstRefusal([dir('linux-6.12.1/'), file('linux-6.12.1/Makefile'), file('extra/Makefile')])).toEqual({
      entry: 'extra/Makefile',
      reason: 'is outside the top directory linux-6.12.1/ (a source tarball has exactly one)',
    });
  });
});
