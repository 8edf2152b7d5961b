import { sha256Digest } from './digest';
import { MEDIA_TYPES, buildImageConfig, buildImageIndex, buildImageManifest } from './image-spec';
import { CREATED } from './test-support/kernel-image';

describe('image JSON', () => {
  const layer = { mediaType: MEDIA_TYPES.layerTarGzip, digest: sha256Digest('layer'), size: 5 };
  const configDescriptor = { mediaType: MEDIA_TYPES.imageConfig, digest: sha256Digest('config'), size: 6 };

  it('describes a linux image of the given architecture with its labels and one layer', () => {
    expect(buildImageConfig({ arch: 'arm64', created: CREATED, labels: { a: 'b' }, diffId: sha256Digest('tar') })).toEqual({
      architecture: 'arm64',
      os: 'linux',
      created: '2023-11-14T22:13:20Z',
      config: { Labels: { a: 'b' } },
      rootfs: { type: 'layers', diff_ids: [sha256Digest('tar')] },
      history: [{ created: '2023-11-14T22:13:20Z', created_by: 'linuxkit-kernels: kernel image from scratch' }],
    });
  });

  it('leaves annotations out of the manifest when there are none', () => {
    expect(buildImageManifest({ config: configDescriptor, layer, annotations: {} })).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.imageManifest,
      config: configDescriptor,
      layers: [layer],
      annotations: undefined,
    });
  });

  it('lists the manifest once per tag, each named by ref.name, with its platform', () => {
    const manifest = { mediaType: MEDIA_TYPES.imageManifest, digest: sha256Digest('m'), size: 1 };
    expect(buildImageIndex({ manifest, arch: 'riscv64', tags: ['6.12.1', '6.12.1-abc'] }).manifests).toEqual([
      { ...manifest, platform: { architecture: 'riscv64', os: 'linux' }, annotations: { 'org.opencontainers.image.ref.name': '6.12.1' } },
      { ...manifest, platform: { architecture: 'riscv64', os: 'linux' }, annotations: { 'org.opencontainers.image.ref.name': '6.12.1-abc' } },
    ]);
  });
});
