import { promises as fs } from 'fs';
import path from 'path';
import { MEDIA_TYPES, canonicalJson, sha256Digest } from '@linuxkit-kernels/oci';
import { createRegistryClient } from './registry-client';
import { incompressibleBytes, makeTempDir } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';

jest.setTimeout(30_000);

describe('createRegistryClient', () => {
  describe('choosing the scheme', () => {
    const recordingFetch = (urls: string[]) =>
      (async (url: URL) => {
        urls.push(String(url));
        return new Response(null, { status: 404 });
      }) as unknown as typeof fetch;

    it('uses https for a registry that is not loopback', async () => {
      const urls: string[] = [];
      const client = createRegistryClient({ registry: 'registry.example.com:5443', fetchImpl: recordingFetch(urls) });
      expect(await client.blobExists('org/kernel', sha256Digest('x'))).toBe(false);
      expect(urls).toEqual([`https://registry.example.com:5443/v2/org/kernel/blobs/${sha256Digest('x')}`]);
    });

    it('refuses plain http to a host that is not loopback unless told insecure', async () => {
      expect(() => createRegistryClient({ registry: 'http://registry.example.com' })).toThrow(
        /refusing plain http to registry registry\.example\.com: it is not a loopback address/,
      );
      const urls: string[] = [];
      const client = createRegistryClient({ registry: 'http://registry.example.com', insecure: true, fetchImpl: recordingFetch(urls) });
      await client.getManifest('org/kernel', '6.12.1');
      expect(urls).toEqual(['http://registry.example.com/v2/org/kernel/manifests/6.12.1']);
    });

    it('talks to Docker Hub at registry-1.docker.io', async () => {
      const urls: string[] = [];
      await createRegistryClient({ registry: 'docker.io', fetchImpl: recordingFetch(urls) }).getManifest('linuxkit/kernel', '6.12.1');
      expect(urls).toEqual(['https://registry-1.docker.io/v2/linuxkit/kernel/manifests/6.12.1']);
    });

    it('refuses a repository or reference that is not one before sending anything', async () => {
      const urls: string[] = [];
      const client = createRegistryClient({ registry: '127.0.0.1:1', fetchImpl: recordingFetch(urls) });
      await expect(client.getManifest('org/../etc', 'latest')).rejects.toThrow(/'org\/\.\.\/etc' is not a valid repository name/);
      await expect(client.getManifest('org/kernel', '../x')).rejects.toThrow(/neither an image tag nor a sha256 digest/);
      await expect(client.blobExists('org/kernel', 'sha256:abc')).rejects.toThrow(/is not a sha256 digest/);
      expect(urls).toEqual([]);
    });
  });

  describe('against a real registry', () => {
    let registry: TestRegistry;
    let dir: string;
    beforeAll(async () => {
      registry = await startTestRegistry();
      dir = await makeTempDir('client');
    });
    afterAll(async () => {
      await registry?.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    async function blobFile(name: string, bytes: Buffer) {
      const file = path.join(dir, name);
      await fs.writeFile(file, bytes);
      return { digest: sha256Digest(bytes), size: bytes.length, file };
    }

    it('uploads a blob, then finds it with HEAD and downloads it verified', async () => {
      const client = createRegistryClient({ registry: registry.url });
      const blob = await blobFile('blob', incompressibleBytes(5000, 3));
      expect(await client.blobExists('org/blobs', blob.digest)).toBe(false);
      expect(await client.uploadBlob('org/blobs', blob)).toEqual({ uploadedBytes: 5000 });
      expect(await client.blobExists('org/blobs', blob.digest)).toBe(true);
      const copy = path.join(dir, 'blob-copy');
      await client.downloadBlob('org/blobs', blob, copy);
      expect(sha256Digest(await fs.readFile(copy))).toBe(blob.digest);
    });

    it('refuses to upload a file whose size is not the one given', async () => {
      const blob = await blobFile('short', Buffer.from('short'));
      await expect(createRegistryClient({ registry: registry.url }).uploadBlob('org/blobs', { ...blob, size: 6 })).rejects.toThrow(
        /it is 5 bytes, not 6/,
      );
    });

    it('returns undefined for a manifest that does not exist, and for a repository that does not', async () => {
      const client = createRegistryClient({ registry: registry.url });
      expect(await client.getManifest('org/nothing', '6.12.1')).toBeUndefined();
      expect(await client.getManifest('org/blobs', sha256Digest('none'))).toBeUndefined();
    });

    it('puts a manifest under a tag and gets it back by tag and by digest, byte for byte', async () => {
      const client = createRegistryClient({ registry: registry.url });
      const config = await blobFile('config', Buffer.from(canonicalJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
      await client.uploadBlob('org/manifests', config);
      const bytes = Buffer.from(
        canonicalJson({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.imageManifest,
          config: { mediaType: MEDIA_TYPES.imageConfig, digest: config.digest, size: config.size },
          layers: [],
        }),
      );
      const digest = await client.putManifest('org/manifests', 'v1', MEDIA_TYPES.imageManifest, bytes);
      expect(digest).toBe(sha256Digest(bytes));
      const byTag = await client.getManifest('org/manifests', 'v1');
      expect(byTag).toEqual({ mediaType: MEDIA_TYPES.imageManifest, bytes, digest });
      expect((await client.getManifest('org/manifests', digest))?.bytes.equals(bytes)).toBe(true);
    });

    it('quotes the registry when it rejects a manifest whose blobs it does not have', async () => {
      const client = createRegistryClient({ registry: registry.url });
      const missing = sha256Digest('never uploaded');
      const bytes = Buffer.from(
        canonicalJson({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.imageManifest,
          config: { mediaType: MEDIA_TYPES.imageConfig, digest: missing, size: 14 },
          layers: [],
        }),
      );
      await expect(client.putManifest('org/manifests', 'broken', MEDIA_TYPES.imageManifest, bytes)).rejects.toMatchObject({
        message: expect.stringMatching(
          new RegExp(`^registry ${registry.url} rejected manifest org/manifests:broken: 400 MANIFEST_BLOB_UNKNOWN: blob unknown to registry \\(${missing}\\)`),
        ),
        fix: expect.stringContaining('push the config and layers before the manifest'),
      });
      expect(await client.getManifest('org/manifests', 'broken')).toBeUndefined();
    });

    it('quotes MANIFEST_INVALID for a document that is not a manifest', async () => {
      const client = createRegistryClient({ registry: registry.url });
      await expect(client.putManifest('org/manifests', 'junk', MEDIA_TYPES.imageManifest, Buffer.from('not json'))).rejects.toThrow(
        /rejected manifest org\/manifests:junk: 400 MANIFEST_INVALID/,
      );
    });

    it('refuses to push a manifest under a digest that is not its own', async () => {
      const client = createRegistryClient({ registry: registry.url });
      await expect(client.putManifest('org/manifests', sha256Digest('other'), MEDIA_TYPES.imageManifest, Buffer.from('{}'))).rejects.toThrow(
        /cannot be pushed under that digest: its content hashes to/,
      );
    });
  });
});
