import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listSeriesPatches, patchSeriesDigest } from './patch-series';

describe('listSeriesPatches', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'series-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('lists *.patch files in byte order of their names, skipping other files and directories', async () => {
    for (const name of ['0010-j.patch', '0002-b.patch', 'README', '0001-a.patch', 'Zfix.patch', 'a-late.patch', '0003-c.patch.orig']) {
      await fs.writeFile(path.join(dir, name), '');
    }
    await fs.mkdir(path.join(dir, '0005-dir.patch'));
    await fs.symlink(path.join(dir, 'missing'), path.join(dir, '.#0004-lock.patch'));
    const patches = await listSeriesPatches(dir);
    expect(patches.map((patch) => patch.name)).toEqual(['0001-a.patch', '0002-b.patch', '0010-j.patch', 'Zfix.patch', 'a-late.patch']);
    expect(patches[0].path).toBe(path.join(dir, '0001-a.patch'));
  });

  it('returns no patches for a missing directory', async () => {
    expect(await listSeriesPatches(path.join(dir, 'no-patches-here'))).toEqual([]);
  });
});

describe('patchSeriesDigest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'digest-'));
    await fs.writeFile(path.join(dir, 'one'), 'first');
    await fs.writeFile(path.join(dir, 'two'), 'second');
    await fs.writeFile(path.join(dir, 'two-edited'), 'second!');
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => ({ name, path: path.join(dir, content) });

  it('changes when a patch is edited, renamed, reordered or removed, and only then', async () => {
    const series = await patchSeriesDigest([file('1.patch', 'one'), file('2.patch', 'two')]);
    expect(series).toMatch(/^[0-9a-f]{64}$/);
    expect(await patchSeriesDigest([file('1.patch', 'one'), file('2.patch', 'two')])).toBe(series);
    const variants = [
      [file('1.patch', 'one'), file('2.patch', 'two-edited')],
      [file('1.patch', 'one'), file('3.patch', 'two')],
      [file('2.patch', 'two'), file('1.patch', 'one')],
      [file('1.patch', 'one')],
    ];
    for (const variant of variants) expect(await patchSeriesDigest(variant)).not.toBe(series);
  });
});
