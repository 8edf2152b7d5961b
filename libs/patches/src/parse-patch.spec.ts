import { readFileSync } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { assertPatchPathsInsideTree, parsePatch } from './parse-patch';

const fixture = (name: string) => readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

describe('parsePatch on git format-patch output', () => {
  const patch = parsePatch(fixture('format-patch-v2-2of2.patch'), '0002-mm-slab.patch');

  it('reads the commit, author and date from the mail headers, decoding RFC 2047 names', () => {
    expect(patch.commit).toBe('b05f4ba2f05dce99bb0a3d1dd9ba2da6cf71aa39');
    expect(patch.from).toBe('Jörg_Rödel <joro@example.org>');
    expect(patch.date).toBe('Thu, 3 Dec 2026 23:51:21 +0000');
  });

  it('unfolds the subject and drops the [PATCH v2 2/2] prefix', () => {
    expect(patch.subject).toBe('mm/slab: fix the accounting of freed slabs when the cache is destroyed and the object count wraps around');
  });

  it('takes the body up to the --- separator, without the diffstat', () => {
    expect(patch.body.startsWith('The object count wraps when a cache is destroyed')).toBe(true);
    expect(patch.body.endsWith('Signed-off-by: Ada Lovelace <ada@example.org>')).toBe(true);
    expect(patch.body).not.toContain('files changed');
  });

  it('reads Signed-off-by, Origin and cherry-pick trailers', () => {
    expect(patch.trailers.signedOffBy).toEqual(['Jörg Rödel <joro@example.org>', 'Ada Lovelace <ada@example.org>']);
    expect(patch.trailers.origin).toEqual(['https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git']);
    expect(patch.trailers.cherryPickedFrom).toEqual(['0123456789abcdef0123456789abcdef01234567']);
    expect(patch.trailers.all.map((trailer) => trailer.key)).toEqual(['Origin', 'Signed-off-by', 'Signed-off-by']);
  });

  it('lists every file with its change, tree path and hunks', () => {
    expect(patch.files.map(({ path, oldPath, newPath, change }) => ({ path, oldPath, newPath, change }))).toEqual([
      { path: 'drivers/new/added.c', oldPath: null, newPath: 'drivers/new/added.c', change: 'added' },
      { path: 'drivers/new/moved.c', oldPath: 'drivers/old/moved.c', newPath: 'drivers/new/moved.c', change: 'renamed' },
      { path: 'drivers/old/gone.c', oldPath: 'drivers/old/gone.c', newPath: null, change: 'deleted' },
      { path: 'kernel/sched.c', oldPath: 'kernel/sched.c', newPath: 'kernel/sched.c', change: 'modified' },
      { path: 'mm/slab.c', oldPath: 'mm/slab.c', newPath: 'mm/slab.c', change: 'modified' },
    ]);
    const slab = patch.files[4];
    expect(slab.hunks).toEqual([
      { oldStart: 2, oldLines: 7, newStart: 2, newLines: 7, line: 62 },
      { oldStart: 22, oldLines: 7, newStart: 22, newLines: 7, line: 71 },
    ]);
    expect(patch.files[1].hunks).toEqual([]);
    expect(patch.files[0].hunks[0]).toMatchObject({ oldStart: 0, oldLines: 0, newStart: 1, newLines: 1 });
  });

  it('keeps the paths as the headers write them, for the safety check', () => {
    expect(patch.files[1].headerPaths).toEqual(['drivers/old/moved.c', 'drivers/new/moved.c', 'a/drivers/old/moved.c', 'b/drivers/new/moved.c']);
  });
});

describe('parsePatch on a mail sent on behalf of its author', () => {
  it('takes From and Subject from the first body lines, as git am does', () => {
    const text = [
      'From: Sender <sender@example.org>',
      'Subject: [PATCH 1/1] a subject the sender wrote',
      '',
      'From: Real Author <author@example.org>',
      'Subject: net: the real subject',
      '',
      'Why the change is needed.',
      '',
      'Signed-off-by: Real Author <author@example.org>',
      '---',
      '--- a/x.c',
      '+++ b/x.c',
      '@@ -1 +1 @@',
      '-a',
      '+b',
      '',
    ].join('\n');
    const patch = parsePatch(text, 'behalf.patch');
    expect({ from: patch.from, subject: patch.subject, body: patch.body }).toEqual({
      from: 'Real Author <author@example.org>',
      subject: 'net: the real subject',
      body: 'Why the change is needed.\n\nSigned-off-by: Real Author <author@example.org>',
    });
  });
});

describe('parsePatch on a bare diff', () => {
  it('reads `diff -ruN` output with empty headers, counting hunk lines so "--- b" inside a hunk is content', () => {
    const patch = parsePatch(fixture('diff-ruN.diff'), 'plain.diff');
    expect({ from: patch.from, subject: patch.subject, date: patch.date, body: patch.body }).toEqual({ from: '', subject: '', date: '', body: '' });
    expect(patch.files.map(({ path, change }) => ({ path, change }))).toEqual([
      { path: 'mm/new.c', change: 'added' },
      { path: 'mm/x.c', change: 'modified' },
    ]);
    expect(patch.files[1].hunks).toEqual([{ oldStart: 1, oldLines: 3, newStart: 1, newLines: 3, line: 9 }]);
  });

  it('reads `git diff` output and keeps a quilt-style description as the body', () => {
    const text = ['Fix the frobnicator.', '', 'Signed-off-by: A <a@example.org>', '', 'diff --git a/x.c b/x.c', '--- a/x.c', '+++ b/x.c', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    const patch = parsePatch(text, 'quilt.patch');
    expect(patch.subject).toBe('');
    expect(patch.trailers.signedOffBy).toEqual(['A <a@example.org>']);
    expect(patch.files.map((file) => file.path)).toEqual(['x.c']);
  });

  it('unquotes file names git writes C-quoted', () => {
    const text = ['diff --git "a/dir/na\\303\\257ve file.c" "b/dir/na\\303\\257ve file.c"', '--- "a/dir/na\\303\\257ve file.c"', '+++ "b/dir/na\\303\\257ve file.c"', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    expect(parsePatch(text, 'quoted.patch').files[0].path).toBe('dir/naïve file.c');
  });
});

describe('parsePatch refusals', () => {
  it('refuses text with no diff, naming the file', () => {
    const refuse = () => parsePatch('From: A <a@example.org>\nSubject: notes\n\nJust some notes.\n', 'kernels/6.12/patches/0003-notes.patch');
    expect(refuse).toThrow(KernelBuildError);
    expect(refuse).toThrow('kernels/6.12/patches/0003-notes.patch is not a patch');
  });

  it('refuses a hunk whose @@ counts promise more lines than follow', () => {
    const text = ['--- a/x.c', '+++ b/x.c', '@@ -1,3 +1,3 @@', ' a', '-b', '+c', ''].join('\n');
    expect(() => parsePatch(text, 'cut.patch')).toThrow(/cut\.patch: the hunk at line 3 is malformed/);
  });
});

describe('assertPatchPathsInsideTree', () => {
  const diffOf = (oldPath: string, newPath: string) => parsePatch(['--- ' + oldPath, '+++ ' + newPath, '@@ -1 +1 @@', '-a', '+b', ''].join('\n'), '0001-evil.patch');

  it('accepts paths relative to the tree root', () => {
    expect(() => assertPatchPathsInsideTree(diffOf('a/mm/slab.c', 'b/mm/slab.c'))).not.toThrow();
  });

  it('refuses a path with "..", naming the patch and the path', () => {
    expect(() => assertPatchPathsInsideTree(diffOf('a/../../etc/passwd', 'b/../../etc/passwd'))).toThrow(
      '0001-evil.patch changes a/../../etc/passwd, which is outside the kernel tree',
    );
  });

  it('refuses an absolute path', () => {
    expect(() => assertPatchPathsInsideTree(diffOf('/etc/passwd', '/etc/passwd'))).toThrow(/0001-evil\.patch changes \/etc\/passwd/);
  });

  it('refuses a rename whose target leaves the tree', () => {
    const text = ['diff --git a/x.c b/x.c', 'similarity index 100%', 'rename from x.c', 'rename to ../x.c', ''].join('\n');
    expect(() => assertPatchPathsInsideTree(parsePatch(text, 'rename.patch'))).toThrow(/rename\.patch changes \.\.\/x\.c/);
  });
});
