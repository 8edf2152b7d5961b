import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { extractImageFile, readImageLayout } from '@linuxkit-kernels/oci';
import { findRemoteImage } from './find-remote-image';
import { pullImageToLayout } from './pull-image';
import { pushImageLayout } from './push-image-layout';
import { pushIndex } from './push-index';
import { createRegistryClient } from './registry-client';
import { TestKernelLayout, incompressibleBytes, makeTempDir, writeTestKernelLayout } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';

jest.setTimeout(30_000);

describe('pullImageToLayout and findRemoteImage', () => {
  let registry: TestRegistry;
  let dir: string;
  let amd64: TestKernelLayout;
  let arm64: TestKernelLayout;
  const client = () => createRegistryClient({ registry: registry.url });

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await makeTempDir('pull');
    amd64 = await writeTestKernelLayout(dir, { arch: 'amd64', kernelBytes: 60_000 });
    arm64 = await writeTestKernelLayout(dir, { arch: 'arm64', kernelBytes: 60_000 });
    for (const layout of [amd64, arm64]) {
      const pushed = await pushImageLayout({ client: client(), layoutDir: layout.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
      await pushIndex({ client: client(), repository: 'org/kernel', tags: ['6.12.1-0123abcd'], manifests: [pushed.manifest] });
    }
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('finds each architecture behind the tag, by OCI or kernel name', async () => {
    expect(await findRemoteImage(client(), 'org/kernel', '6.12.1-0123abcd', 'amd64')).toMatchObject({ digest: amd64.manifestDigest });
    expect(await findRemoteImage(client(), 'org/kernel', '6.12.1-0123abcd', 'aarch64')).toMatchObject({ digest: arm64.manifestDigest });
  });

  it('finds nothing for a missing tag, repository or architecture', async () => {
    expect(await findRemoteImage(client(), 'org/kernel', '6.12.1-ffffffff', 'amd64')).toBeUndefined();
    expect(await findRemoteImage(client(), 'org/none', '6.12.1-0123abcd', 'amd64')).toBeUndefined();
    expect(await findRemoteImage(client(), 'org/kernel', '6.12.1-0123abcd', 'riscv64')).toBeUndefined();
  });

  it('checks the architecture of a tag that names a single image', async () => {
    const bytes = await fs.readFile(path.join(arm64.layoutDir, 'blobs', 'sha256', arm64.manifestDigest.slice(7)));
    await client().putManifest('org/kernel', 'arm64-only', 'application/vnd.oci.image.manifest.v1+json', bytes);
    expect(await findRemoteImage(client(), 'org/kernel', 'arm64-only', 'arm64')).toMatchObject({ digest: arm64.manifestDigest });
    expect(await findRemoteImage(client(), 'org/kernel', 'arm64-only', 'amd64')).toBeUndefined();
  });

  it('pulls one architecture into a layout that readImageLayout and skopeo read, with the same digests', async () => {
    const layoutDir = path.join(dir, 'pulled');
    const pulled = await pullImageToLayout({
      client: client(),
      repository: 'org/kernel',
      reference: '6.12.1-0123abcd',
      architecture: 'arm64',
      layoutDir,
      tags: ['6.12.1', '6.12.1-0123abcd'],
    });
    expect(pulled).toEqual({ layoutDir, manifestDigest: arm64.manifestDigest, tags: ['6.12.1', '6.12.1-0123abcd'], downloadedBytes: arm64.layer.size });

    const layout = await readImageLayout(layoutDir, { verifyLayers: true });
    expect(layout.manifests.map((entry) => [entry.tag, entry.digest, entry.config.architecture])).toEqual([
      ['6.12.1', arm64.manifestDigest, 'arm64'],
      ['6.12.1-0123abcd', arm64.manifestDigest, 'arm64'],
    ]);
    const kernel = await extractImageFile(layoutDir, '6.12.1', 'kernel', path.join(dir, 'kernel-out'));
    expect((await fs.readFile(kernel.dest)).equals(incompressibleBytes(60_000, 1))).toBe(true);

    const { stdout } = await execa('skopeo', ['inspect', `oci:${layoutDir}:6.12.1-0123abcd`]);
    expect(JSON.parse(stdout)).toMatchObject({ Digest: arm64.manifestDigest, Architecture: 'arm64', Layers: [arm64.layer.digest] });
  });

  it('pulls by digest and replaces an existing layout whole, leaving no staging directories', async () => {
    const layoutDir = path.join(dir, 'replaced');
    await pullImageToLayout({ client: client(), repository: 'org/kernel', reference: '6.12.1-0123abcd', architecture: 'arm64', layoutDir, tags: ['old'] });
    const pulled = await pullImageToLayout({
      client: client(),
      repository: 'org/kernel',
      reference: amd64.manifestDigest,
      architecture: 'x86_64',
      layoutDir,
      tags: ['6.12.1'],
    });
    expect(pulled?.manifestDigest).toBe(amd64.manifestDigest);
    const layout = await readImageLayout(layoutDir);
    expect(layout.manifests.map((entry) => entry.tag)).toEqual(['6.12.1']);
    const blobs = await fs.readdir(path.join(layoutDir, 'blobs', 'sha256'));
    expect(blobs.sort()).toEqual([amd64.manifestDigest, amd64.configDigest, amd64.layer.digest].map((digest) => digest.slice(7)).sort());
    expect((await fs.readdir(dir)).filter((name) => name.startsWith('.replaced'))).toEqual([]);
  });

  it('resolves to undefined, writing nothing, when the registry has no such image', async () => {
    const layoutDir = path.join(dir, 'absent');
    const pull = (reference: string, architecture: string) =>
      pullImageToLayout({ client: client(), repository: 'org/kernel', reference, architecture, layoutDir, tags: ['6.12.1'] });
    expect(await pull('6.12.1-ffffffff', 'amd64')).toBeUndefined();
    expect(await pull('6.12.1-0123abcd', 'riscv64')).toBeUndefined();
    await expect(fs.stat(layoutDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a layer whose bytes at the registry do not match its digest, and leaves the old layout in place', async () => {
    const corrupt = await writeTestKernelLayout(dir, { arch: 'amd64', seed: 9 });
    const pushed = await pushImageLayout({ client: client(), layoutDir: corrupt.layoutDir, tag: '6.12.1', repository: 'org/corrupt' });
    await pushIndex({ client: client(), repository: 'org/corrupt', tags: ['6.12.1'], manifests: [pushed.manifest] });
    const hex = corrupt.layer.digest.slice(7);
    const stored = path.join(registry.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await fs.readFile(stored);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(stored, bytes);

    const layoutDir = path.join(dir, 'pulled');
    await expect(
      pullImageToLayout({ client: client(), repository: 'org/corrupt', reference: '6.12.1', architecture: 'amd64', layoutDir, tags: ['6.12.1'] }),
    ).rejects.toThrow(new RegExp(`blob ${corrupt.layer.digest} from org/corrupt at registry ${registry.url} arrived as \\d+ bytes hashing to sha256:`));
    expect((await readImageLayout(layoutDir)).manifests[0].digest).toBe(arm64.manifestDigest);
    expect((await fs.readdir(dir)).filter((name) => name.startsWith('.pulled'))).toEqual([]);
  });
});
