import execa from 'execa';
import { promises as fs } from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { backdatePatchedFiles, isLongAgo, PRISTINE_FILES, replaceLine, SeriesWorkspace, stampTree } from './__fixtures__/kernel-series';
import { listSeriesPatches } from './patch-series';
import { preparePatchedTree } from './prepare-patched-tree';

const SLAB_FIVE = (content: string) => replaceLine(content, 'slab line 5', 'slab line five');
const SCHED_TEN = (content: string) => replaceLine(content, 'sched line 10', 'sched line ten');
const DUMMY_THREE = (content: string) => replaceLine(content, 'dummy line 3', 'dummy line three');

describe('preparePatchedTree', () => {
  let workspace: SeriesWorkspace;
  let logs: string[];

  beforeEach(async () => {
    workspace = await SeriesWorkspace.create();
    logs = [];
  });
  afterEach(() => workspace.cleanup());

  const prepare = async () =>
    preparePatchedTree({
      pristineDir: workspace.pristineDir,
      treeDir: workspace.treeDir,
      patches: await listSeriesPatches(workspace.patchesDir),
      log: (line) => logs.push(line),
    });

  /** 0001 changes mm/slab.c, 0002 kernel/sched.c, 0003 drivers/net/dummy.c. */
  async function writeThreePatches(): Promise<{ afterFirst: string }> {
    await workspace.writePatch('0001-mm-slab-five.patch', 'mm/slab: spell out five', { 'mm/slab.c': SLAB_FIVE });
    const afterFirst = await workspace.commit('(base of 0002)', {});
    await workspace.writePatch('0002-sched-ten.patch', 'sched: spell out ten', { 'kernel/sched.c': SCHED_TEN });
    await workspace.writePatch('0003-dummy-three.patch', 'net: dummy: spell out three', { 'drivers/net/dummy.c': DUMMY_THREE });
    return { afterFirst };
  }

  async function expectDoesNotApply(pattern: RegExp): Promise<KernelBuildError> {
    const error = await prepare().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(KernelBuildError);
    expect((error as KernelBuildError).message).toMatch(pattern);
    return error as KernelBuildError;
  }

  describe('the first run', () => {
    it('makes the tree a hard-link copy of the pristine tree and applies the series in order', async () => {
      await writeThreePatches();
      const result = await prepare();

      expect(result).toEqual({
        treeDir: workspace.treeDir,
        applied: ['0001-mm-slab-five.patch', '0002-sched-ten.patch', '0003-dummy-three.patch'],
        reverted: [],
        recreated: true,
      });
      expect(await workspace.readTree('mm/slab.c')).toBe(SLAB_FIVE(PRISTINE_FILES['mm/slab.c']));
      expect(await workspace.readTree('kernel/sched.c')).toBe(SCHED_TEN(PRISTINE_FILES['kernel/sched.c']));
      expect(await workspace.readTree('drivers/net/dummy.c')).toBe(DUMMY_THREE(PRISTINE_FILES['drivers/net/dummy.c']));
      const [untouched, pristine] = await Promise.all([fs.stat(path.join(workspace.treeDir, 'Makefile')), fs.stat(path.join(workspace.pristineDir, 'Makefile'))]);
      expect(untouched.ino).toBe(pristine.ino);
    });

    it('with no patches, makes the tree a plain hard-link copy', async () => {
      expect(await prepare()).toMatchObject({ applied: [], recreated: true });
      const [tree, pristine] = await Promise.all([stampTree(workspace.treeDir), stampTree(workspace.pristineDir)]);
      for (const file of Object.keys(PRISTINE_FILES)) expect(tree.get(file)).toEqual(pristine.get(file));
    });

    it('refuses a series naming a patch file that is not there', async () => {
      const missing = { name: '0001-gone.patch', path: path.join(workspace.patchesDir, '0001-gone.patch') };
      await expect(preparePatchedTree({ pristineDir: workspace.pristineDir, treeDir: workspace.treeDir, patches: [missing] })).rejects.toThrow(/cannot read patch .*0001-gone\.patch: ENOENT/);
    });

    it('records the pristine tree and each applied patch with its sha256, keeping a copy of it', async () => {
      await writeThreePatches();
      await prepare();

      const state = JSON.parse(await workspace.readTree('.kbuild-patches/state.json'));
      expect(state.pristineDir).toBe(workspace.pristineDir);
      expect(state.applied.map((patch: { name: string }) => patch.name)).toEqual(['0001-mm-slab-five.patch', '0002-sched-ten.patch', '0003-dummy-three.patch']);
      const original = await fs.readFile(path.join(workspace.patchesDir, '0002-sched-ten.patch'), 'utf8');
      expect(await workspace.readTree(`.kbuild-patches/applied/${state.applied[1].sha256}.patch`)).toBe(original);
      expect(await fs.readdir(path.join(workspace.treeDir, '.kbuild-patches'))).not.toContain('dirty');
    });

    it('never changes the pristine tree, whatever happens to the patched one', async () => {
      const before = await stampTree(workspace.pristineDir, { withContent: true });
      await writeThreePatches();
      await prepare();
      await fs.rm(path.join(workspace.patchesDir, '0003-dummy-three.patch'));
      await prepare();
      await fs.writeFile(path.join(workspace.treeDir, '.kbuild-patches', 'dirty'), '');
      await prepare();

      expect(await stampTree(workspace.pristineDir, { withContent: true })).toEqual(before);
    });
  });

  describe('a later run', () => {
    it('touches nothing when the series did not change', async () => {
      await writeThreePatches();
      await prepare();
      const before = await stampTree(workspace.treeDir);

      expect(await prepare()).toEqual({ treeDir: workspace.treeDir, applied: [], reverted: [], recreated: false });
      expect(await stampTree(workspace.treeDir)).toEqual(before);
    });

    it('only applies a patch appended to the series', async () => {
      await writeThreePatches();
      await prepare();
      await workspace.writePatch('0004-slab-header.patch', 'slab.h: spell out two', { 'include/linux/slab.h': (c) => replaceLine(c, 'slab.h line 2', 'slab.h line two') });

      expect(await prepare()).toMatchObject({ applied: ['0004-slab-header.patch'], reverted: [], recreated: false });
    });

    it('after patch 2 of 3 is edited, reverts 3 and 2 and applies 2 and 3 again, leaving the files of 1 alone', async () => {
      const { afterFirst } = await writeThreePatches();
      await prepare();
      await backdatePatchedFiles(workspace.treeDir);
      const before = await stampTree(workspace.treeDir);
      await workspace.writePatch('0002-sched-ten.patch', 'sched: spell out ten and twenty', { 'kernel/sched.c': (c) => replaceLine(SCHED_TEN(c), 'sched line 20', 'sched line twenty') }, { base: afterFirst });
      await workspace.writePatch('0003-dummy-three.patch', 'net: dummy: spell out three', { 'drivers/net/dummy.c': DUMMY_THREE });

      const result = await prepare();

      expect(result).toMatchObject({ reverted: ['0003-dummy-three.patch', '0002-sched-ten.patch'], applied: ['0002-sched-ten.patch', '0003-dummy-three.patch'], recreated: false });
      expect(await workspace.readTree('kernel/sched.c')).toContain('sched line twenty');
      const after = await stampTree(workspace.treeDir);
      expect(after.get('mm/slab.c')).toEqual(before.get('mm/slab.c'));
      expect(isLongAgo(after.get('kernel/sched.c'))).toBe(false);
      // 3 was reverted and applied again, but its file ends up as it was: make need not rebuild it.
      expect(isLongAgo(after.get('drivers/net/dummy.c'))).toBe(true);
    });

    it('keeps every mtime when a patch is exported again with only its message changed', async () => {
      const { afterFirst } = await writeThreePatches();
      await prepare();
      await backdatePatchedFiles(workspace.treeDir);
      await workspace.writePatch('0002-sched-ten.patch', 'sched: spell out ten (reworded)', { 'kernel/sched.c': SCHED_TEN }, { base: afterFirst });
      await workspace.writePatch('0003-dummy-three.patch', 'net: dummy: spell out three', { 'drivers/net/dummy.c': DUMMY_THREE });

      expect(await prepare()).toMatchObject({ applied: ['0002-sched-ten.patch', '0003-dummy-three.patch'] });
      const after = await stampTree(workspace.treeDir);
      for (const file of ['mm/slab.c', 'kernel/sched.c', 'drivers/net/dummy.c']) expect(isLongAgo(after.get(file))).toBe(true);
    });

    it('reverts a removed patch from its kept copy, though the original file is gone', async () => {
      await writeThreePatches();
      await prepare();
      await fs.rm(path.join(workspace.patchesDir, '0002-sched-ten.patch'));

      expect(await prepare()).toMatchObject({ reverted: ['0003-dummy-three.patch', '0002-sched-ten.patch'], applied: ['0003-dummy-three.patch'], recreated: false });
      expect(await workspace.readTree('kernel/sched.c')).toBe(PRISTINE_FILES['kernel/sched.c']);
      expect(await workspace.readTree('drivers/net/dummy.c')).toBe(DUMMY_THREE(PRISTINE_FILES['drivers/net/dummy.c']));
      const state = JSON.parse(await workspace.readTree('.kbuild-patches/state.json'));
      expect(await fs.readdir(path.join(workspace.treeDir, '.kbuild-patches', 'applied'))).toHaveLength(state.applied.length);
    });
  });

  describe('recreating the tree from the pristine one', () => {
    beforeEach(async () => {
      await writeThreePatches();
      await prepare();
      logs = [];
    });

    it('happens when a run was interrupted (the dirty mark is still there)', async () => {
      await fs.writeFile(path.join(workspace.treeDir, '.kbuild-patches', 'dirty'), '');
      expect(await prepare()).toMatchObject({ recreated: true, applied: ['0001-mm-slab-five.patch', '0002-sched-ten.patch', '0003-dummy-three.patch'] });
      expect(logs.join('\n')).toMatch(/recreating .*interrupted/);
    });

    it('dates a file that is back to its pristine content as changed, so make rebuilds what the dropped patch built', async () => {
      const tarballTime = new Date('2000-01-01T00:00:00Z');
      for (const file of Object.keys(PRISTINE_FILES)) await fs.utimes(path.join(workspace.pristineDir, file), tarballTime, tarballTime);
      await backdatePatchedFiles(workspace.treeDir);
      await fs.writeFile(path.join(workspace.treeDir, '.kbuild-patches', 'dirty'), '');
      await fs.rm(path.join(workspace.patchesDir, '0003-dummy-three.patch'));

      expect(await prepare()).toMatchObject({ recreated: true, applied: ['0001-mm-slab-five.patch', '0002-sched-ten.patch'] });
      const after = await stampTree(workspace.treeDir);
      expect(isLongAgo(after.get('mm/slab.c'))).toBe(true);
      const dummy = await fs.stat(path.join(workspace.treeDir, 'drivers/net/dummy.c'));
      expect(await workspace.readTree('drivers/net/dummy.c')).toBe(PRISTINE_FILES['drivers/net/dummy.c']);
      expect(dummy.mtime.getFullYear()).toBeGreaterThan(2001);
      expect((await fs.stat(path.join(workspace.pristineDir, 'drivers/net/dummy.c'))).mtime).toEqual(tarballTime);
    });

    it('happens when the state file is missing or corrupt', async () => {
      const stateFile = path.join(workspace.treeDir, '.kbuild-patches', 'state.json');
      await fs.writeFile(stateFile, '{"version": 1, "appl');
      expect(await prepare()).toMatchObject({ recreated: true });
      expect(logs.join('\n')).toMatch(/state\.json is corrupt/);
      await fs.rm(stateFile);
      expect(await prepare()).toMatchObject({ recreated: true });
      expect(logs.join('\n')).toMatch(/state\.json is missing/);
    });

    it('happens when the tree was made from another pristine tree', async () => {
      const otherPristine = `${workspace.pristineDir}-other`;
      await execa('cp', ['-a', workspace.pristineDir, otherPristine]);
      await preparePatchedTree({ pristineDir: otherPristine, treeDir: workspace.treeDir, patches: await listSeriesPatches(workspace.patchesDir), log: (line) => logs.push(line) });
      expect(logs.join('\n')).toMatch(/it was made from .*linux-6\.12, not .*linux-6\.12-other/);
      const makefile = await Promise.all([fs.stat(path.join(workspace.treeDir, 'Makefile')), fs.stat(path.join(otherPristine, 'Makefile'))]);
      expect(makefile[0].ino).toBe(makefile[1].ino);
    });

    it('happens when a patch to revert does not reverse cleanly, and the result is still right', async () => {
      await fs.writeFile(path.join(workspace.treeDir, 'drivers/net/dummy.c'), DUMMY_THREE(PRISTINE_FILES['drivers/net/dummy.c']).replace('dummy line 2\n', ''));
      await fs.rm(path.join(workspace.patchesDir, '0003-dummy-three.patch'));

      expect(await prepare()).toMatchObject({ recreated: true, applied: ['0001-mm-slab-five.patch', '0002-sched-ten.patch'], reverted: [] });
      expect(logs.join('\n')).toMatch(/0003-dummy-three\.patch does not reverse cleanly/);
      expect(await workspace.readTree('drivers/net/dummy.c')).toBe(PRISTINE_FILES['drivers/net/dummy.c']);
    });
  });

  describe('a patch that does not apply', () => {
    it('is named with the file and the failing hunk, and leaves the tree as it was', async () => {
      await workspace.writePatch('0001-mm-slab-five.patch', 'mm/slab: spell out five', { 'mm/slab.c': SLAB_FIVE });
      await prepare();
      // Written against a tree where upstream had already changed line 29.
      const moved = await workspace.commit('upstream moved on', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 29', 'slab line 29 (upstream)') });
      await workspace.writePatch('0002-mm-slab-thirty.patch', 'mm/slab: spell out ten and thirty', {
        'mm/slab.c': (c) => replaceLine(replaceLine(c, 'slab line 10', 'slab line ten'), 'slab line 30', 'slab line thirty'),
      }, { base: moved });
      const before = await stampTree(workspace.treeDir);

      const error = await expectDoesNotApply(/0002-mm-slab-thirty\.patch does not apply: mm\/slab\.c hunk 2 fails at line 27/);
      expect(error.fix).toMatch(/rebase the patch onto this kernel version/i);
      expect(error.details).toContain('Hunk #2 FAILED at 27.');
      expect(await stampTree(workspace.treeDir)).toEqual(before);
    });

    it('is recorded as not applied, so fixing it resumes from there', async () => {
      await workspace.writePatch('0001-mm-slab-five.patch', 'mm/slab: spell out five', { 'mm/slab.c': SLAB_FIVE });
      const afterFirst = await workspace.commit('(base of 0002)', {});
      const moved = await workspace.commit('upstream moved on', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 29', 'slab line 29 (upstream)') });
      await workspace.writePatch('0002-mm-slab-thirty.patch', 'mm/slab: spell out thirty', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 30', 'slab line thirty') }, { base: moved });
      await expectDoesNotApply(/0002-mm-slab-thirty\.patch/);

      await workspace.writePatch('0002-mm-slab-thirty.patch', 'mm/slab: spell out thirty', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 30', 'slab line thirty') }, { base: afterFirst });
      expect(await prepare()).toMatchObject({ applied: ['0002-mm-slab-thirty.patch'], reverted: [], recreated: false });
    });

    it('is refused when it would only apply with fuzz', async () => {
      // Line 27 is the outermost context line of the hunk for line 30: plain `patch` forgives it (fuzz 1).
      const moved = await workspace.commit('upstream moved on', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 27', 'slab line 27 (upstream)') });
      const patch = await workspace.writePatch('0001-mm-slab-thirty.patch', 'mm/slab: spell out thirty', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 30', 'slab line thirty') }, { base: moved });
      const plain = await execa('patch', ['-p1', '--dry-run', '-i', patch.path], { cwd: workspace.pristineDir });
      expect(plain.stdout).toMatch(/Hunk #1 succeeded at \d+ with fuzz 1\./);

      await expectDoesNotApply(/0001-mm-slab-thirty\.patch does not apply: mm\/slab\.c hunk 1 fails at line 27 \(it needs fuzz 1/);
    });

    it('is reported as already applied when the tree has its change', async () => {
      const older = await workspace.commit('an older slab', { 'mm/slab.c': (c) => replaceLine(c, 'slab line 7', 'slab line seven') });
      await workspace.writePatch('0001-mm-slab-seven.patch', 'mm/slab: back to 7', { 'mm/slab.c': (c) => replaceLine(c, 'slab line seven', 'slab line 7') }, { base: older });

      const error = await expectDoesNotApply(/0001-mm-slab-seven\.patch does not apply: mm\/slab\.c already has this change/);
      expect(error.fix).toMatch(/already has the change/);
    });

    it('names a file the tree does not have', async () => {
      const added = await workspace.commit('add a driver', { 'drivers/net/gone.c': 'gone 1\n' });
      await workspace.writePatch('0001-net-gone.patch', 'net: gone: change it', { 'drivers/net/gone.c': 'gone one\n' }, { base: added });

      await expectDoesNotApply(/0001-net-gone\.patch does not apply: drivers\/net\/gone\.c does not exist in this kernel tree/);
    });
  });

  describe('refusals before anything is touched', () => {
    it('refuses a patch that reaches outside the tree', async () => {
      const escape = ['--- a/../../outside.c', '+++ b/../../outside.c', '@@ -0,0 +1 @@', '+owned', ''].join('\n');
      await fs.writeFile(path.join(workspace.patchesDir, '0001-escape.patch'), escape);

      await expect(prepare()).rejects.toThrow(/0001-escape\.patch changes a\/\.\.\/\.\.\/outside\.c, which is outside the kernel tree/);
      await expect(fs.access(workspace.treeDir)).rejects.toThrow();
    });

    it('refuses a file that is not a patch', async () => {
      await fs.writeFile(path.join(workspace.patchesDir, '0001-notes.patch'), 'Remember to rebase these.\n');
      await expect(prepare()).rejects.toThrow(/0001-notes\.patch is not a patch/);
      await expect(fs.access(workspace.treeDir)).rejects.toThrow();
    });

    it('refuses to replace a directory it did not make', async () => {
      await fs.mkdir(workspace.treeDir, { recursive: true });
      await fs.writeFile(path.join(workspace.treeDir, 'precious.txt'), 'mine');
      await expect(prepare()).rejects.toThrow(/is not a patched tree made by this build/);
      expect(await workspace.readTree('precious.txt')).toBe('mine');
    });

    it('refuses a tree inside the pristine tree', async () => {
      const inside = preparePatchedTree({ pristineDir: workspace.pristineDir, treeDir: path.join(workspace.pristineDir, 'tree'), patches: [] });
      await expect(inside).rejects.toThrow(/overlap/);
    });
  });

  it('lets a second run for the same tree wait for the first', async () => {
    await writeThreePatches();
    const [first, second] = await Promise.all([prepare(), prepare()]);

    const results = [first, second].sort((a, b) => b.applied.length - a.applied.length);
    expect(results[0]).toMatchObject({ recreated: true, applied: ['0001-mm-slab-five.patch', '0002-sched-ten.patch', '0003-dummy-three.patch'] });
    expect(results[1]).toMatchObject({ recreated: false, applied: [], reverted: [] });
    expect(logs).toContainEqual(expect.stringMatching(/waiting for another run/));
  });
});
