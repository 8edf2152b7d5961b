import { randomBytes } from 'crypto';
import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { blobPath } from './digest';
import { MEDIA_TYPES } from './image-spec';
import { readImageLayout } from './read-image-layout';
import {
  BUILDER,
  BUILD_IMAGE_LABEL,
  CREATED,
  KernelOutputs,
  WORKSPACE_ROOT,
  layoutFingerprint,
  layoutOptions,
  writeKernelOutputs,
} from './test-support/kernel-image';
import { itWithTools, makeTempDir, sampleBytes } from './test-support/sample-files';
import { KernelImageLayoutOptions, writeKernelImageLayout } from './write-image-layout';

describe('writeKernelImageLayout', () => {
  let dir: string;
  let buildDir: string;
  let outputs: KernelOutputs;
  beforeAll(async () => {
    dir = await makeTempDir('layout');
    buildDir = path.join(dir, 'build');
    outputs = await writeKernelOutputs(buildDir);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('gives the same digests and the same bytes when written twice from the same inputs', async () => {
    const first = await writeKernelImageLayout(
      layoutOptions(buildDir, path.join(dir, 'first'), { labels: { [BUILD_IMAGE_LABEL]: BUILDER, 'org.example.series': '6.12' } }),
    );
    // The same inputs given in another order: files listed backwards, labels inserted the other way round.
    const reordered = layoutOptions(buildDir, path.join(dir, 'second'), {
      labels: { 'org.example.series': '6.12', [BUILD_IMAGE_LABEL]: BUILDER },
    });
    reordered.files.reverse();
    const second = await writeKernelImageLayout(reordered);
    expect(second).toEqual(first);
    expect(await layoutFingerprint(path.join(dir, 'second'))).toEqual(await layoutFingerprint(path.join(dir, 'first')));
  });

  it('keeps the layer digest but changes the config digest when only a label changes', async () => {
    const base = await writeKernelImageLayout(layoutOptions(buildDir, path.join(dir, 'base')));
    const relabelled = await writeKernelImageLayout(
      layoutOptions(buildDir, path.join(dir, 'relabelled'), { labels: { [BUILD_IMAGE_LABEL]: 'other/builder:1' } }),
    );
    expect(relabelled.layer).toEqual(base.layer);
    expect(relabelled.configDigest).not.toBe(base.configDigest);
    expect(relabelled.manifestDigest).not.toBe(base.manifestDigest);
  });

  it('writes an OCI layout whose index, manifest and config agree with what it returns', async () => {
    const layoutDir = path.join(dir, 'read-back');
    const written = await writeKernelImageLayout(layoutOptions(buildDir, layoutDir));
    expect(JSON.parse(await fs.readFile(path.join(layoutDir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const { index, manifests } = await readImageLayout(layoutDir, { verifyLayers: true });
    expect(index.mediaType).toBe(MEDIA_TYPES.imageIndex);
    expect(manifests.map((entry) => [entry.tag, entry.digest])).toEqual([
      ['6.12.1', written.manifestDigest],
      ['6.12.1-0123abcd', written.manifestDigest],
    ]);
    const [{ manifest, config }] = manifests;
    expect(manifest.config).toEqual({ mediaType: MEDIA_TYPES.imageConfig, digest: written.configDigest, size: expect.any(Number) });
    expect(manifest.layers).toEqual([{ mediaType: MEDIA_TYPES.layerTarGzip, digest: written.layer.digest, size: written.layer.size }]);
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.source': 'https://example.invalid/kernels' });
    expect(config.rootfs.diff_ids).toEqual([written.layer.diffId]);
    expect(config.config?.Labels).toEqual({ [BUILD_IMAGE_LABEL]: BUILDER });
    expect((await fs.stat(blobPath(layoutDir, written.manifestDigest))).size).toBe(written.manifestSize);
  });

  itWithTools(['gzip'])('writes a layer that gzip -t accepts', async () => {
    const layoutDir = path.join(dir, 'gzip-check');
    const { layer } = await writeKernelImageLayout(layoutOptions(buildDir, layoutDir));
    await execa('gzip', ['-t', blobPath(layoutDir, layer.digest)]);
  });

  itWithTools(['skopeo'])('is read by skopeo with our architecture, labels and manifest digest', async () => {
    const layoutDir = path.join(dir, 'skopeo');
    const written = await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { arch: 'arm64' }));
    for (const tag of ['6.12.1', '6.12.1-0123abcd']) {
      const { stdout } = await execa('skopeo', ['inspect', `oci:${layoutDir}:${tag}`]);
      const inspected = JSON.parse(stdout);
      expect(inspected).toMatchObject({
        Digest: written.manifestDigest,
        Architecture: 'arm64',
        Os: 'linux',
        Created: '2023-11-14T22:13:20Z',
        Labels: { [BUILD_IMAGE_LABEL]: BUILDER },
        Layers: [written.layer.digest],
      });
    }
  });

  itWithTools(['umoci'])('unpacks with umoci (Go\'s gzip reader, over several members) to the files, contents and modes we packed', async () => {
    const layoutDir = path.join(dir, 'umoci');
    const bundle = path.join(dir, 'umoci-bundle');
    // Over 4 MiB, so the layer is three gzip members and umoci must read past the first.
    const bigKernel = sampleBytes(9 * 1024 * 1024, 21);
    await fs.writeFile(path.join(dir, 'big-bzImage'), bigKernel);
    const options = layoutOptions(buildDir, layoutDir);
    options.files[0] = { path: 'kernel', source: path.join(dir, 'big-bzImage') };
    await writeKernelImageLayout(options);
    const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
    await execa('umoci', ['unpack', ...rootless, '--image', `${layoutDir}:6.12.1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect((await fs.readdir(rootfs)).sort()).toEqual(['System.map', 'kernel', 'kernel-builder', 'kernel.tar', 'usr']);
    expect((await fs.readFile(path.join(rootfs, 'kernel'))).equals(bigKernel)).toBe(true);
    expect((await fs.readFile(path.join(rootfs, 'kernel.tar'))).equals(outputs.modulesTar)).toBe(true);
    expect((await fs.readFile(path.join(rootfs, 'System.map'))).equals(outputs.systemMap)).toBe(true);
    expect(await fs.readFile(path.join(rootfs, 'kernel-builder'), 'utf8')).toBe(BUILDER);
    expect((await fs.stat(path.join(rootfs, 'kernel'))).mode & 0o7777).toBe(0o644);
    expect((await fs.stat(path.join(rootfs, 'usr/bin/perf'))).mode & 0o7777).toBe(0o755);
    expect((await fs.stat(path.join(rootfs, 'kernel'))).mtime.getTime()).toBe(CREATED * 1000);
  });

  it('replaces an existing layout whole, leaving no trace of the old one or of the swap', async () => {
    const layoutDir = path.join(dir, 'replaced', 'image');
    await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { tags: ['old'] }));
    const oldBlobs = await fs.readdir(path.join(layoutDir, 'blobs', 'sha256'));
    await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { tags: ['new'], labels: { x: 'y' } }));
    const { manifests } = await readImageLayout(layoutDir);
    expect(manifests.map((entry) => entry.tag)).toEqual(['new']);
    const blobs = await fs.readdir(path.join(layoutDir, 'blobs', 'sha256'));
    expect(blobs).toHaveLength(3);
    expect(blobs.filter((blob) => oldBlobs.includes(blob))).toHaveLength(1); // only the shared layer
    expect(await fs.readdir(path.join(dir, 'replaced'))).toEqual(['image']);
  });

  it('leaves the old layout in place when the new one cannot be written', async () => {
    const layoutDir = path.join(dir, 'kept');
    await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { tags: ['old'] }));
    const before = await layoutFingerprint(layoutDir);
    const broken = layoutOptions(buildDir, layoutDir, { tags: ['new'] });
    broken.files.push({ path: 'vmlinux', source: path.join(buildDir, 'no-such-vmlinux') });
    await expect(writeKernelImageLayout(broken)).rejects.toThrow(/image file 'vmlinux': cannot read its source .*no-such-vmlinux \(ENOENT\)/);
    expect(await layoutFingerprint(layoutDir)).toEqual(before);
  });

  it('survives a packaging process killed mid-write: the old layout stays, the next write cleans up', async () => {
    const layoutDir = path.join(dir, 'killed', 'image');
    const parent = path.dirname(layoutDir);
    const bigKernel = path.join(dir, 'incompressible-bzImage');
    // Incompressible, so the layer takes long enough to be caught half-written.
    await fs.writeFile(bigKernel, randomBytes(64 * 1024 * 1024));
    await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { tags: ['old'] }));
    const before = await layoutFingerprint(layoutDir);

    const options = layoutOptions(buildDir, layoutDir, { tags: ['new'], files: [{ path: 'kernel', source: bigKernel }] });
    const script = `require(${JSON.stringify(path.join(__dirname, 'write-image-layout.ts'))}).writeKernelImageLayout(${JSON.stringify(options)})`;
    const child = execa('node', ['-r', '@swc-node/register', '-e', script], { cwd: WORKSPACE_ROOT, reject: false });
    const halfWrittenLayer = async () => {
      const staging = (await fs.readdir(parent)).find((name) => name.startsWith('.image.partial-'));
      if (!staging) return false;
      const layer = await fs.stat(path.join(parent, staging, 'blobs', 'sha256', '.layer.partial')).catch(() => undefined);
      return (layer?.size ?? 0) > 0;
    };
    while (!(await halfWrittenLayer())) {
      if (child.exitCode !== null) throw new Error(`the packaging process ended before it could be killed: ${(await child).stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await child;

    expect(await layoutFingerprint(layoutDir)).toEqual(before);
    expect((await fs.readdir(parent)).filter((name) => name !== 'image')).toEqual([expect.stringMatching(/^\.image\.partial-\d+-[0-9a-f]{8}$/)]);
    await writeKernelImageLayout(layoutOptions(buildDir, layoutDir, { tags: ['after'] }));
    expect(await fs.readdir(parent)).toEqual(['image']);
  }, 60_000);

  it.each<[string, Partial<KernelImageLayoutOptions>, RegExp]>([
    ['no tags', { tags: [] }, /no tags given/],
    ['a tag given twice', { tags: ['6.12.1', '6.12.1'] }, /name the same tag twice/],
    ['a tag starting with -', { tags: ['-dirty'] }, /'-dirty' is not a valid image tag/],
    ['a tag with a slash', { tags: ['a/b'] }, /'a\/b' is not a valid image tag/],
    ['a kernel arch name instead of an OCI one', { arch: 'x86_64' as 'amd64' }, /image architecture 'x86_64' is not one of amd64, arm64, riscv64/],
    ['a negative creation time', { created: -1 }, /not a whole number of unix seconds/],
    ['an empty label key', { labels: { '': 'x' } }, /label '' must be a non-empty key/],
  ])('refuses %s, writing nothing', async (_case, overrides, message) => {
    await expect(writeKernelImageLayout(layoutOptions(buildDir, path.join(dir, 'refused'), overrides))).rejects.toThrow(message);
    await expect(fs.stat(path.join(dir, 'refused'))).rejects.toThrow(/ENOENT/);
  });
});
