import { Descriptor, ImageIndex, MEDIA_TYPES, canonicalJson } from '@linuxkit-kernels/oci';
import { DOCKER_MANIFEST_LIST } from './manifest-document';
import { PlatformManifest, indexListsAll, mergeImageIndex, platformsOf } from './image-index-merge';

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}` as const;
const image = (n: number, architecture: string, variant?: string): PlatformManifest & Descriptor => ({
  mediaType: MEDIA_TYPES.imageManifest,
  digest: digest(n),
  size: 100 + n,
  platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
});
const indexOf = (...manifests: ImageIndex['manifests']): ImageIndex => ({ schemaVersion: 2, mediaType: MEDIA_TYPES.imageIndex, manifests });

describe('mergeImageIndex', () => {
  it('makes an OCI index of the additions when the tag holds nothing', () => {
    expect(mergeImageIndex(undefined, [image(1, 'amd64')])).toEqual(indexOf({ ...image(1, 'amd64') }));
  });

  it('keeps other platforms and sorts the entries by architecture', () => {
    const existing = indexOf({ ...image(2, 'riscv64') }, { ...image(3, 'amd64') });
    const merged = mergeImageIndex(existing, [image(4, 'arm64')]);
    expect(merged.manifests.map((entry) => entry.platform?.architecture)).toEqual(['amd64', 'arm64', 'riscv64']);
  });

  it('replaces the entry of the same platform, telling variants apart', () => {
    const existing = indexOf({ ...image(1, 'amd64') }, { ...image(2, 'arm64', 'v8') }, { ...image(3, 'arm', 'v7') });
    const merged = mergeImageIndex(existing, [image(5, 'amd64'), image(6, 'arm', 'v6')]);
    expect(merged.manifests.map((entry) => entry.digest)).toEqual([digest(5), digest(6), digest(3), digest(2)]);
  });

  it('drops attestations of a replaced image and keeps those of kept ones', () => {
    const attestation = (n: number, of: number) => ({
      mediaType: MEDIA_TYPES.imageManifest,
      digest: digest(n),
      size: 10,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digest(of) },
    });
    const existing = indexOf({ ...image(1, 'amd64') }, { ...image(2, 'arm64') }, attestation(7, 1), attestation(8, 2));
    const merged = mergeImageIndex(existing, [image(3, 'amd64')]);
    expect(merged.manifests.map((entry) => entry.digest)).toEqual([digest(3), digest(2), digest(8)]);
  });

  it('turns a Docker manifest list into an OCI index, keeping its annotations', () => {
    const list: ImageIndex = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ ...image(1, 'arm64'), mediaType: MEDIA_TYPES.dockerManifest }],
      annotations: { a: 'b' },
    };
    const merged = mergeImageIndex(list, [image(2, 'amd64')]);
    expect(merged.mediaType).toBe(MEDIA_TYPES.imageIndex);
    expect(merged.annotations).toEqual({ a: 'b' });
    expect(merged.manifests.map((entry) => entry.mediaType)).toEqual([MEDIA_TYPES.imageManifest, MEDIA_TYPES.dockerManifest]);
  });

  it('gives the same bytes whichever machine merged last', () => {
    const amd64First = mergeImageIndex(mergeImageIndex(undefined, [image(1, 'amd64')]), [image(2, 'arm64')]);
    const arm64First = mergeImageIndex(mergeImageIndex(undefined, [image(2, 'arm64')]), [image(1, 'amd64')]);
    expect(canonicalJson(amd64First)).toBe(canonicalJson(arm64First));
  });

  it('refuses two additions for one platform', () => {
    expect(() => mergeImageIndex(undefined, [image(1, 'amd64'), image(2, 'amd64')])).toThrow(/are both for linux\/amd64/);
  });

  it('reports platforms and whether an index still lists ours', () => {
    const merged = mergeImageIndex(undefined, [image(1, 'amd64'), image(2, 'arm64', 'v8')]);
    expect(platformsOf(merged)).toEqual([{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }]);
    expect(indexListsAll(merged, [image(1, 'amd64')])).toBe(true);
    expect(indexListsAll(merged, [image(3, 'amd64')])).toBe(false);
  });
});
