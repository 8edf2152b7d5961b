import execa from 'execa';
import { promises as fs } from 'fs';
import { ImageIndex, MEDIA_TYPES, canonicalJson } from '@linuxkit-kernels/oci';
import { DOCKER_MANIFEST_LIST } from './manifest-document';
import { pushImageLayout } from './push-image-layout';
import { pushIndex } from './push-index';
import { createRegistryClient } from './registry-client';
import { TestKernelLayout, makeTempDir, writeTestKernelLayout } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';

jest.setTimeout(30_000);

describe('pushIndex: one tag, one image per architecture, from different machines', () => {
  let registry: TestRegistry;
  let dir: string;
  let amd64: TestKernelLayout;
  let arm64: TestKernelLayout;
  // Separate clients: nothing carries over from one "machine" to the other but the registry.
  const machine = () => createRegistryClient({ registry: registry.url });

  async function indexAt(repository: string, tag: string): Promise<ImageIndex> {
    const manifest = await machine().getManifest(repository, tag);
    expect(manifest?.mediaType).toBe(MEDIA_TYPES.imageIndex);
    return JSON.parse(manifest!.bytes.toString()) as ImageIndex;
  }

  async function pushArch(layout: TestKernelLayout, repository: string, tags: string[]) {
    const client = machine();
    const pushed = await pushImageLayout({ client, layoutDir: layout.layoutDir, tag: '6.12.1', repository });
    return pushIndex({ client, repository, tags, manifests: [pushed.manifest] });
  }

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await makeTempDir('index');
    amd64 = await writeTestKernelLayout(dir, { arch: 'amd64' });
    arm64 = await writeTestKernelLayout(dir, { arch: 'arm64' });
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('joins amd64 pushed by one machine and arm64 pushed by another under both tags', async () => {
    const first = await pushArch(amd64, 'org/kernel', ['6.12.1', '6.12.1-0123abcd']);
    expect(first.map((pushed) => pushed.platforms)).toEqual([[{ os: 'linux', architecture: 'amd64' }], [{ os: 'linux', architecture: 'amd64' }]]);

    const second = await pushArch(arm64, 'org/kernel', ['6.12.1', '6.12.1-0123abcd']);
    expect(second.map((pushed) => pushed.tag)).toEqual(['6.12.1', '6.12.1-0123abcd']);
    for (const pushed of second) {
      expect(pushed.platforms).toEqual([
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ]);
    }
    const index = await indexAt('org/kernel', '6.12.1');
    expect(index.manifests.map((entry) => [entry.platform?.architecture, entry.digest])).toEqual([
      ['amd64', amd64.manifestDigest],
      ['arm64', arm64.manifestDigest],
    ]);
    // Canonical JSON: the bytes at the tag are exactly what we would write for that index.
    const stored = await machine().getManifest('org/kernel', '6.12.1');
    expect(stored!.bytes.toString()).toBe(canonicalJson(index));
    expect(second[0].digest).toBe(stored!.digest);

    const { stdout } = await execa('skopeo', ['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${registry.url}/org/kernel:6.12.1`]);
    expect(JSON.parse(stdout)).toMatchObject({ Architecture: 'arm64', Layers: [arm64.layer.digest] });
  });

  it('replaces only its own architecture when an arch is rebuilt, and writes nothing when nothing changed', async () => {
    const rebuilt = await writeTestKernelLayout(dir, { arch: 'amd64', seed: 2 });
    await pushArch(rebuilt, 'org/kernel', ['6.12.1']);
    const index = await indexAt('org/kernel', '6.12.1');
    expect(index.manifests.map((entry) => entry.digest)).toEqual([rebuilt.manifestDigest, arm64.manifestDigest]);

    const log: string[] = [];
    const client = createRegistryClient({ registry: registry.url, log: (line) => log.push(line) });
    const pushed = await pushImageLayout({ client, layoutDir: rebuilt.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
    await pushIndex({ client, repository: 'org/kernel', tags: ['6.12.1'], manifests: [pushed.manifest] });
    expect(log.filter((line) => line.startsWith('pushed manifest org/kernel:6.12.1'))).toEqual([]);
  });

  it('turns a tag that holds a single-arch image into an index of it and ours', async () => {
    const client = machine();
    const pushed = await pushImageLayout({ client, layoutDir: amd64.layoutDir, tag: '6.12.1', repository: 'org/single' });
    // What a single-arch tool (docker push) leaves: the tag names the image itself.
    const bytes = await fs.readFile(`${amd64.layoutDir}/blobs/sha256/${amd64.manifestDigest.slice(7)}`);
    await client.putManifest('org/single', '6.12.1', MEDIA_TYPES.imageManifest, bytes);

    const [result] = await pushArch(arm64, 'org/single', ['6.12.1']);
    expect(result.platforms.map((platform) => platform.architecture)).toEqual(['amd64', 'arm64']);
    const index = await indexAt('org/single', '6.12.1');
    expect(index.manifests[0]).toEqual({ ...pushed.manifest });
  });

  it('merges into a Docker manifest list, keeping the entries of other platforms', async () => {
    const client = machine();
    const pushed = await pushImageLayout({ client, layoutDir: arm64.layoutDir, tag: '6.12.1', repository: 'org/list' });
    const list = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ ...pushed.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }],
    };
    await client.putManifest('org/list', '6.12.1', DOCKER_MANIFEST_LIST, Buffer.from(JSON.stringify(list)));

    const [result] = await pushArch(amd64, 'org/list', ['6.12.1']);
    expect(result.platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect((await indexAt('org/list', '6.12.1')).mediaType).toBe(MEDIA_TYPES.imageIndex);
  });

  it('is refused by the registry when the index lists an image that was never pushed', async () => {
    await expect(
      pushIndex({
        client: machine(),
        repository: 'org/empty',
        tags: ['6.12.1'],
        manifests: [{ mediaType: MEDIA_TYPES.imageManifest, digest: amd64.manifestDigest, size: amd64.manifestSize, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    ).rejects.toThrow(/rejected manifest org\/empty:6\.12\.1: 400 MANIFEST_BLOB_UNKNOWN/);
  });
});
