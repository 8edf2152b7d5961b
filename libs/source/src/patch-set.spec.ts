import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { blobPath, openStore } from './content-store';
import { fetchPatchSet, parseQuiltSeries, PatchSetSpec, patchSetPatches } from './patch-set';
import { LoopbackServer, serveBytes, startLoopbackServer } from './__fixtures__/loopback-server';
import { listDir, useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(20_000);

describe('parseQuiltSeries', () => {
  it('keeps the series order and drops comments, blank lines, quilt options and excluded patches', () => {
    const series = '# RT patches\n0001-a.patch\n\n0002-b.patch -p1\n# 0003-c.patch\n0004-d.patch # trailing comment\n';
    expect(parseQuiltSeries(series, ['0002-b.patch'])).toEqual(['0001-a.patch', '0004-d.patch']);
  });
});

/** A tarball laid out like kernel.org's projects/rt patches-<ver>.tar.xz: patches/series + patches/*.patch. */
async function rtStyleTarball(dir: string, series: string, patches: string[]): Promise<Buffer> {
  const root = path.join(dir, 'content');
  fs.mkdirSync(path.join(root, 'patches'), { recursive: true });
  fs.writeFileSync(path.join(root, 'patches/series'), series);
  for (const name of patches) fs.writeFileSync(path.join(root, 'patches', name), `Subject: [PATCH] ${name}\n---\n`);
  const file = path.join(dir, 'patches.tar.xz');
  await execa('tar', ['-cJf', file, '-C', root, 'patches']);
  return fs.readFileSync(file);
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a kernel.org patch set (projects/rt kind) from a loopback server', () => {
  const temp = useTempDirs();
  let server: LoopbackServer;
  let good: Buffer;
  let escaping: Buffer;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-tarballs-'));
    good = await rtStyleTarball(path.join(dir, 'good'), '# rt\n0001-sched-rt.patch\n0003-printk.patch\n0002-locking.patch\n', ['0001-sched-rt.patch', '0002-locking.patch', '0003-printk.patch']);
    escaping = await rtStyleTarball(path.join(dir, 'escaping'), '0001-a.patch\n../../etc/passwd\n', ['0001-a.patch']);
    fs.rmSync(dir, { recursive: true, force: true });
    server = await startLoopbackServer({ '/rt/patches-6.1.rt.tar.xz': serveBytes(good), '/rt/escaping.tar.xz': serveBytes(escaping) });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });

  const spec = (overrides: Partial<PatchSetSpec & { kind: 'kernel.org' }> = {}): PatchSetSpec => ({
    kind: 'kernel.org',
    url: server.url('/rt/patches-6.1.rt.tar.xz'),
    sha256: sha256Of(good),
    // The tarball's top directory (patches/) is stripped on extraction, so the series is at its root.
    ...overrides,
  });

  it('downloads it into the store once and lists its patches in quilt series order, minus the excluded', async () => {
    const work = await temp.make();
    const store = openStore(path.join(work, 'store'));
    const tarball = await fetchPatchSet(spec(), { store });
    expect(tarball).toBe(blobPath(store, sha256Of(good)));
    expect(server.requests).toEqual(['GET /rt/patches-6.1.rt.tar.xz']);
    expect(await fetchPatchSet(spec(), { store })).toBe(tarball);
    expect(server.requests).toHaveLength(1); // the store had it: no request

    const patches = await patchSetPatches(spec({ exclude: ['0003-printk.patch'] }), tarball, work);
    expect(patches.map((patch) => patch.name)).toEqual(['patches/0001-sched-rt.patch', 'patches/0002-locking.patch']);
    for (const patch of patches) expect(fs.readFileSync(patch.path, 'utf8')).toContain(`Subject: [PATCH] ${path.basename(patch.path)}`);
  });

  it('refuses a tarball whose sha256 is not the pinned one, keeping nothing', async () => {
    const work = await temp.make();
    const store = openStore(path.join(work, 'store'));
    const wrong = sha256Of(Buffer.from('another patch set'));
    await expect(fetchPatchSet(spec({ sha256: wrong }), { store })).rejects.toThrow(/sha256/);
    expect(await listDir(path.join(store.root, 'sha256'))).toEqual([]);
  });

  it('names a missing series file, an excluded patch it does not have, and a series entry outside its directory', async () => {
    const work = await temp.make();
    const store = openStore(path.join(work, 'store'));
    const tarball = await fetchPatchSet(spec(), { store });
    await expect(patchSetPatches(spec({ dir: 'nothing-here' }), tarball, work)).rejects.toThrow(`patch set ${sha256Of(good).slice(0, 12)} has no nothing-here/series`);
    await expect(patchSetPatches(spec({ exclude: ['0009-gone.patch'] }), tarball, work)).rejects.toThrow('patch set excludes 0009-gone.patch, which it does not have');

    const outside = spec({ url: server.url('/rt/escaping.tar.xz'), sha256: sha256Of(escaping) });
    const escapingTarball = await fetchPatchSet(outside, { store });
    const refusal = patchSetPatches(outside, escapingTarball, work);
    await expect(refusal).rejects.toThrow('patch set series names ../../etc/passwd, outside its directory');
    await expect(refusal).rejects.toBeInstanceOf(KernelBuildError);
  });
});
