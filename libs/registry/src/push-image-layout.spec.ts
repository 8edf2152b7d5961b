import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { MEDIA_TYPES, readImageLayout } from '@linuxkit-kernels/oci';
import { pushImageLayout } from './push-image-layout';
import { pushIndex } from './push-index';
import { createRegistryClient } from './registry-client';
import { startFaultProxy, FaultProxy } from './test-support/fault-proxy';
import { TestKernelLayout, makeTempDir, writeTestKernelLayout } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';

jest.setTimeout(30_000);

describe('pushImageLayout against a real registry', () => {
  let registry: TestRegistry;
  let dir: string;
  let image: TestKernelLayout;
  const log: string[] = [];
  const client = () => createRegistryClient({ registry: registry.url, log: (line) => log.push(line) });

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await makeTempDir('push');
    image = await writeTestKernelLayout(dir, { kernelBytes: 40_000 });
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('pushes config, layer and manifest by digest, and skopeo reads back the same image', async () => {
    const pushed = await pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
    expect(pushed).toMatchObject({
      manifestDigest: image.manifestDigest,
      manifest: { mediaType: MEDIA_TYPES.imageManifest, digest: image.manifestDigest, size: image.manifestSize, platform: { os: 'linux', architecture: 'amd64' } },
      uploadedBlobs: 2,
      mountedBlobs: 0,
      skippedBlobs: 0,
    });
    const configSize = (await fs.stat(path.join(image.layoutDir, 'blobs', 'sha256', image.configDigest.slice(7)))).size;
    expect(pushed.uploadedBytes).toBe(image.layer.size + configSize);

    const { stdout } = await execa('skopeo', ['inspect', '--no-tags', '--tls-verify=false', `docker://${registry.url}/org/kernel@${image.manifestDigest}`]);
    const inspected = JSON.parse(stdout) as { Digest: string; Architecture: string; Layers: string[]; Labels: Record<string, string> };
    expect(inspected).toMatchObject({ Digest: image.manifestDigest, Architecture: 'amd64', Layers: [image.layer.digest] });
    expect(inspected.Labels['org.mobyproject.linuxkit.kernel.buildimage']).toBe('linuxkit/kernel:6.12.1-builder');
  });

  it('uploads nothing the second time: every blob is already there', async () => {
    const again = await pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
    expect(again).toMatchObject({ manifestDigest: image.manifestDigest, uploadedBytes: 0, uploadedBlobs: 0, skippedBlobs: 2 });
  });

  it('publishes under the tags through an index, which skopeo inspects and copies to an oci layout', async () => {
    const pushed = await pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
    const [index] = await pushIndex({ client: client(), repository: 'org/kernel', tags: ['6.12.1'], manifests: [pushed.manifest] });

    const { stdout: raw } = await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.url}/org/kernel:6.12.1`]);
    expect(JSON.parse(raw).manifests.map((entry: { digest: string }) => entry.digest)).toEqual([image.manifestDigest]);
    // skopeo reports the digest of what the tag names (our index) and the layers of the amd64 image in it.
    const { stdout } = await execa('skopeo', ['inspect', '--tls-verify=false', '--override-arch', 'amd64', `docker://${registry.url}/org/kernel:6.12.1`]);
    expect(JSON.parse(stdout)).toMatchObject({ Digest: index.digest, Layers: [image.layer.digest], RepoTags: ['6.12.1'] });

    const copied = path.join(dir, 'skopeo-copy');
    await execa('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--override-arch',
      'amd64',
      `docker://${registry.url}/org/kernel:6.12.1`,
      `oci:${copied}:6.12.1`,
    ]);
    const layout = await readImageLayout(copied, { verifyLayers: true });
    expect(layout.manifests[0].manifest.layers.map((layer) => layer.digest)).toEqual([image.layer.digest]);
  });

  it('refuses a tag the layout does not hold, naming the ones it does', async () => {
    await expect(pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.1.0', repository: 'org/kernel' })).rejects.toMatchObject({
      message: expect.stringContaining("has no image tagged '6.1.0'"),
      fix: 'push one of: 6.12.1, 6.12.1-0123abcd',
    });
  });

  describe('through a proxy that counts requests', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy({ upstream: registry.url });
    });
    afterAll(() => proxy?.stop());
    beforeEach(() => {
      proxy.requests.length = 0;
    });

    it('uploads a blob bigger than the chunk size in PATCH chunks with Content-Range, then one PUT', async () => {
      const big = await writeTestKernelLayout(dir, { kernelBytes: 300_000, seed: 7 });
      const chunkBytes = 64 * 1024;
      const chunked = createRegistryClient({ registry: proxy.url, uploadChunkBytes: chunkBytes });
      const pushed = await pushImageLayout({ client: chunked, layoutDir: big.layoutDir, tag: '6.12.1', repository: 'org/chunked' });
      expect(pushed.manifestDigest).toBe(big.manifestDigest);

      const uploads = proxy.requests.filter((request) => request.path.includes('/blobs/uploads/'));
      const patches = uploads.filter((request) => request.method === 'PATCH');
      expect(big.layer.size).toBeGreaterThan(4 * chunkBytes);
      expect(patches).toHaveLength(Math.ceil(big.layer.size / chunkBytes));
      // The config is small: one POST and one monolithic PUT; the layer: a POST, the PATCHes, a PUT with no body.
      expect(uploads.filter((request) => request.method === 'POST')).toHaveLength(2);
      expect(uploads.filter((request) => request.method === 'PUT')).toHaveLength(2);

      const { stdout } = await execa('skopeo', ['inspect', '--no-tags', '--tls-verify=false', `docker://${registry.url}/org/chunked@${big.manifestDigest}`]);
      expect(JSON.parse(stdout).Layers).toEqual([big.layer.digest]);
      const copied = path.join(dir, 'chunked-copy');
      await execa('skopeo', ['copy', '--src-tls-verify=false', `docker://${registry.url}/org/chunked@${big.manifestDigest}`, `oci:${copied}:x`]);
      await readImageLayout(copied, { verifyLayers: true });
    });

    it('mounts the blobs from another repository instead of uploading them', async () => {
      const mountLog: string[] = [];
      const mounting = createRegistryClient({ registry: proxy.url, log: (line) => mountLog.push(line) });
      await pushImageLayout({ client: mounting, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/a' });
      proxy.requests.length = 0;

      const pushed = await pushImageLayout({ client: mounting, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/b', mountFrom: ['org/a'] });
      expect(pushed).toMatchObject({ uploadedBytes: 0, uploadedBlobs: 0, mountedBlobs: 2, skippedBlobs: 0 });
      const mounts = proxy.requests.filter((request) => request.method === 'POST' && request.path.includes('mount='));
      expect(mounts).toHaveLength(2);
      expect(mounts[0].path).toContain('from=org%2Fa');
      expect(proxy.requests.some((request) => request.method === 'PUT' && request.path.includes('/blobs/uploads/'))).toBe(false);
      expect(mountLog).toContain(`mounted blob ${image.layer.digest} into org/b from org/a`);
    });

    it('uploads normally when no candidate repository has the blob', async () => {
      const fresh = await writeTestKernelLayout(dir, { seed: 21 });
      const pushed = await pushImageLayout({
        client: createRegistryClient({ registry: proxy.url }),
        layoutDir: fresh.layoutDir,
        tag: '6.12.1',
        repository: 'org/c',
        mountFrom: ['org/nothing-here', 'org/a'],
      });
      expect(pushed).toMatchObject({ uploadedBlobs: 2, mountedBlobs: 0 });
      // The first refused mount's upload session is cancelled; the last one's carries the upload.
      expect(proxy.requests.filter((request) => request.method === 'DELETE')).toHaveLength(2);
      expect(proxy.requests.filter((request) => request.method === 'POST' && !request.path.includes('mount='))).toHaveLength(0);
    });
  });
});
