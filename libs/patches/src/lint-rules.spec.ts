import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { formatViolation, lintPatchSeries, PATCH_RULES } from './lint-rules';
import { listSeriesPatches } from './patch-series';

const asSeriesFiles = (patches: { name: string; path: string }[]) => patches.map((patch) => ({ ...patch, displayPath: `kernels/6.12/patches/${patch.name}` }));

describe('lintPatchSeries on the fixture series', () => {
  it('reports each broken rule once, at the offending line, and nothing for the clean patches', async () => {
    const files = asSeriesFiles(await listSeriesPatches(path.join(__dirname, '__fixtures__', 'lint')));
    const lines = (await lintPatchSeries(files)).map(formatViolation);
    expect(lines).toEqual([
      'kernels/6.12/patches/0002-plain-diff.patch:1: git-am-format: commit the change with a message and export it with git format-patch: this is a plain diff, which git am cannot take',
      'kernels/6.12/patches/0003-subject-only.patch:4: git-am-format: write a commit message below the subject saying what the change does and why',
      'kernels/6.12/patches/0004-no-signoff.patch:1: numbered-name: renumber 0004-no-signoff.patch or 0004-duplicate-prefix.patch: both have the prefix 0004, so their order is left to the rest of the name',
      'kernels/6.12/patches/0004-no-signoff.patch:7: signed-off-by: add a Signed-off-by: line (git commit -s) certifying the DCO',
      'kernels/6.12/patches/0006-backport-without-x.patch:6: cherry-pick: cherry-pick it with git cherry-pick -x so it carries "(cherry picked from commit <sha>)": its message says it is a backport ("commit 0123456789abcdef0123456789abcdef01234567 upstream.")',
      'kernels/6.12/patches/0007-from-mailing-list.patch:8: origin: add an Origin: line after the Signed-off-by lines linking to where this patch came from: it links a mailing-list posting (https://lore.kernel.org/r/20261203235431.1234-1-grace@example.org)',
      'kernels/6.12/patches/0008-outside-tree.patch:10: paths: make the paths relative to the kernel tree root, with no "..": a/../etc/passwd is outside the tree (export the commit with git format-patch from the kernel tree)',
      'kernels/6.12/patches/0009-someone-elses-work.patch:2: origin: add an Origin: line after the Signed-off-by lines linking to where this patch came from: its author grace@example.org did not sign it off, so it was written elsewhere',
      'kernels/6.12/patches/5-unnumbered.patch:1: numbered-name: rename the file NNNN-<slug>.patch (e.g. 0005-unnumbered.patch): a 4-digit prefix orders the series, as git format-patch names files',
    ]);
  });

  it('lists every rule id a violation can name, with a description for the README', () => {
    expect(PATCH_RULES.map((rule) => rule.id)).toEqual(['git-am-format', 'signed-off-by', 'numbered-name', 'cherry-pick', 'origin', 'paths']);
    for (const rule of PATCH_RULES) expect(rule.description).toMatch(/\S/);
  });
});

const CLEAN_BODY = ['Count the objects with an unsigned long.', '', 'Signed-off-by: Ada Lovelace <ada@example.org>'];
const DIFF = ['---', 'diff --git a/mm/slab.c b/mm/slab.c', '--- a/mm/slab.c', '+++ b/mm/slab.c', '@@ -1 +1 @@', '-slab line 1', '+slab line one'];

function mail(options: { headers?: string[]; body?: string[]; diff?: string[] } = {}): string {
  const headers = options.headers ?? ['From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001', 'From: Ada Lovelace <ada@example.org>', 'Subject: [PATCH] mm/slab: spell out one'];
  return [...headers, '', ...(options.body ?? CLEAN_BODY), ...(options.diff ?? DIFF)].join('\n') + '\n';
}

describe('lintPatchSeries on single patches', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lint-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  async function lint(text: string, name = '0001-mm-slab-spell-out-one.patch'): Promise<string[]> {
    await fs.writeFile(path.join(dir, name), text);
    return (await lintPatchSeries(asSeriesFiles([{ name, path: path.join(dir, name) }]))).map((violation) => formatViolation(violation).replace(/^kernels\/6\.12\/patches\/[^:]+:/, ''));
  }

  it('accepts a git format-patch mail with a message, a sign-off and a diff', async () => {
    expect(await lint(mail())).toEqual([]);
  });

  it('asks for the mbox From line, the From: and the Subject: header of a hand-written mail', async () => {
    expect(await lint(mail({ headers: ['Date: Thu, 3 Dec 2026 23:54:31 +0000'] }))).toEqual([
      '1: git-am-format: start the file with the "From <sha> Mon Sep 17 00:00:00 2001" line of a mail: export the commit with git format-patch',
      '1: git-am-format: add a From: header naming the author: export the commit with git format-patch',
      '1: git-am-format: add a Subject: header summing up the change: export the commit with git format-patch',
    ]);
  });

  it('fails a mail without a diff at its last line', async () => {
    expect(await lint(mail({ diff: [] }))).toEqual(['7: git-am-format: add the change itself: the file has no diff (export the commit with git format-patch)']);
  });

  it('fails a damaged hunk at its @@ line', async () => {
    expect(await lint(mail({ diff: [...DIFF.slice(0, 5), '-slab line 1'] }))).toEqual([
      expect.stringMatching(/^12: git-am-format: regenerate the patch with git format-patch \(or fix the hunk counts by hand\): the hunk at line 12 is malformed/),
    ]);
  });

  it('counts a message of trailers only as no message', async () => {
    expect(await lint(mail({ body: ['Fixes: 0123456789ab ("mm/slab: count objects")', 'Signed-off-by: Ada Lovelace <ada@example.org>'] }))).toEqual([
      '3: git-am-format: write a commit message below the subject saying what the change does and why',
    ]);
  });

  it('wants a sign-off with a name and an email', async () => {
    expect(await lint(mail({ body: ['Count the objects.', '', 'Signed-off-by: ada'] }))).toEqual(['7: signed-off-by: write the Signed-off-by: line as "Name <email>" (git commit -s does)']);
  });

  it('wants the full commit id in the cherry-pick line', async () => {
    expect(await lint(mail({ body: ['Count the objects.', '', '(cherry picked from commit 0123456789ab)', 'Signed-off-by: Ada Lovelace <ada@example.org>'] }))).toEqual([
      '7: cherry-pick: write the full 40-hex commit id in "(cherry picked from commit <sha>)", as git cherry-pick -x does',
    ]);
  });

  it('takes a subject saying "backport" as a claim to be a cherry-pick', async () => {
    const headers = ['From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001', 'From: Ada Lovelace <ada@example.org>', 'Subject: [PATCH] Backport mm/slab: spell out one'];
    expect(await lint(mail({ headers }))).toEqual([expect.stringMatching(/^3: cherry-pick: cherry-pick it with git cherry-pick -x .*\("Subject: \[PATCH\] Backport mm\/slab: spell out one"\)$/)]);
  });

  it('needs no Origin: for a -x cherry-pick, whoever wrote it', async () => {
    const headers = ['From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001', 'From: Grace Hopper <grace@example.org>', 'Subject: [PATCH] mm/slab: spell out one'];
    const body = ['commit 0123456789abcdef0123456789abcdef01234567 upstream.', '', 'Count the objects.', '', '(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)', 'Signed-off-by: Ada Lovelace <ada@example.org>'];
    expect(await lint(mail({ headers, body }))).toEqual([]);
  });

  it('takes a Message-Id as a mail from a list, and an Origin: line as its answer', async () => {
    const headers = ['From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001', 'From: Ada Lovelace <ada@example.org>', 'Message-Id: <20261203.1-ada@example.org>', 'Subject: [PATCH] mm/slab: spell out one'];
    expect(await lint(mail({ headers }))).toEqual(['3: origin: add an Origin: line after the Signed-off-by lines linking to where this patch came from: it has a Message-Id, so it came from a mail']);
    const body = [...CLEAN_BODY, 'Origin: https://lore.kernel.org/r/20261203.1-ada@example.org'];
    expect(await lint(mail({ headers, body }))).toEqual([]);
  });

  it('does not take a Link: to a bug tracker as a mailing-list posting', async () => {
    expect(await lint(mail({ body: ['Count the objects.', '', 'Link: https://bugzilla.kernel.org/show_bug.cgi?id=1', 'Signed-off-by: Ada Lovelace <ada@example.org>'] }))).toEqual([]);
  });

  it('checks the paths of a plain diff too', async () => {
    expect(await lint(['--- a/../etc/passwd', '+++ b/../etc/passwd', '@@ -1 +1 @@', '-root', '+ada', ''].join('\n'))).toEqual([
      '1: git-am-format: commit the change with a message and export it with git format-patch: this is a plain diff, which git am cannot take',
      '1: paths: make the paths relative to the kernel tree root, with no "..": a/../etc/passwd is outside the tree (export the commit with git format-patch from the kernel tree)',
    ]);
  });

  it('refuses a patch it cannot read', async () => {
    const files = asSeriesFiles([{ name: '0001-gone.patch', path: path.join(dir, '0001-gone.patch') }]);
    await expect(lintPatchSeries(files)).rejects.toThrow(new KernelBuildError('cannot read patch kernels/6.12/patches/0001-gone.patch: ENOENT'));
  });
});
