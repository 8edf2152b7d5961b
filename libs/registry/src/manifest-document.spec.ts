import { MEDIA_TYPES } from '@linuxkit-kernels/oci';
import { DOCKER_MANIFEST_LIST, bareMediaType, findPlatformEntry, ociArchitecture, parseManifestDocument } from './manifest-document';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const index = { schemaVersion: 2, manifests: [] };
const manifest = { schemaVersion: 2, config: { digest: 'sha256:x' }, layers: [] };

describe('parseManifestDocument', () => {
  it('trusts a specific Content-Type', () => {
    expect(parseManifestDocument(DOCKER_MANIFEST_LIST, json(index), 'm')).toMatchObject({ kind: 'index', mediaType: DOCKER_MANIFEST_LIST });
    expect(parseManifestDocument(MEDIA_TYPES.dockerManifest, json(manifest), 'm')).toMatchObject({ kind: 'image', mediaType: MEDIA_TYPES.dockerManifest });
  });

  it('falls back to the mediaType field, then to the shape, for a generic Content-Type', () => {
    expect(parseManifestDocument('application/json', json({ ...index, mediaType: MEDIA_TYPES.imageIndex }), 'm').kind).toBe('index');
    expect(parseManifestDocument(undefined, json(manifest), 'm')).toMatchObject({ kind: 'image', mediaType: MEDIA_TYPES.imageManifest });
  });

  it('names what it cannot read', () => {
    expect(() => parseManifestDocument(undefined, Buffer.from('nope'), 'manifest a:b')).toThrow('manifest a:b is not JSON');
    expect(() => parseManifestDocument(undefined, json({ schemaVersion: 1 }), 'manifest a:b')).toThrow(/not a schemaVersion 2 manifest/);
    expect(() => parseManifestDocument('application/vnd.oci.image.index.v1+json', json(manifest), 'manifest a:b')).toThrow(/lists no manifests/);
    expect(() => parseManifestDocument('application/x-helm', json({ schemaVersion: 2 }), 'manifest a:b')).toThrow(
      'manifest a:b is application/x-helm, neither an image manifest nor an image index',
    );
  });
});

describe('platforms', () => {
  it('maps kernel arch names to OCI ones', () => {
    expect(['x86_64', 'aarch64', 'riscv64', 'amd64'].map(ociArchitecture)).toEqual(['amd64', 'arm64', 'riscv64', 'amd64']);
  });

  it('finds the linux image entry for an architecture, skipping attestations and other OSes', () => {
    const entries = [
      { mediaType: MEDIA_TYPES.imageManifest, digest: 'sha256:w' as const, size: 1, platform: { os: 'windows', architecture: 'amd64' } },
      { mediaType: MEDIA_TYPES.imageManifest, digest: 'sha256:a' as const, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.in-toto+json', digest: 'sha256:t' as const, size: 1, platform: { os: 'linux', architecture: 'arm64' } },
    ];
    expect(findPlatformEntry({ schemaVersion: 2, manifests: entries }, 'x86_64')?.digest).toBe('sha256:a');
    expect(findPlatformEntry({ schemaVersion: 2, manifests: entries }, 'arm64')).toBeUndefined();
  });

  it('strips parameters from a Content-Type', () => {
    expect(bareMediaType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(bareMediaType(null)).toBeUndefined();
  });
});
