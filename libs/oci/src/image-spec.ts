import { Sha256Digest } from './digest';

// The OCI image-spec documents we write and read, and pure builders for the ones we write.

export const MEDIA_TYPES = {
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerLayerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const IMAGE_LAYOUT_VERSION = '1.0.0';

export type ImageArch = 'amd64' | 'arm64' | 'riscv64';
export const IMAGE_ARCHES: readonly ImageArch[] = ['amd64', 'arm64', 'riscv64'];

export interface Descriptor {
  mediaType: string;
  digest: Sha256Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  config?: { Labels?: Record<string, string> };
  rootfs: { type: 'layers'; diff_ids: Sha256Digest[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

function rfc3339(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
export function buildImageConfig(input: {
  arch: ImageArch;
  created: number;
  labels: Record<string, string>;
  diffId: Sha256Digest;
}): ImageConfig {
  const created = rfc3339(input.created);
  return {
    architecture: input.arch,
    os: 'linux',
    created,
    config: { Labels: input.labels },
    rootfs: { type: 'layers', diff_ids: [input.diffId] },
    history: [{ created, created_by: 'linuxkit-kernels: kernel image from scratch' }],
  };
}

export function buildImageManifest(input: {
  config: Descriptor;
  layer: Descriptor;
  annotations?: Record<string, string>;
}): ImageManifest {
  const annotations = input.annotations && Object.keys(input.annotations).length > 0 ? input.annotations : undefined;
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageManifest,
    config: input.config,
    layers: [input.layer],
    annotations,
  };
}

export function buildImageIndex(input: { manifest: Descriptor; arch: ImageArch; tags: string[] }): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageIndex,
    manifests: input.tags.map((tag) => ({
      ...input.manifest,
      platform: { architecture: input.arch, os: 'linux' },
      annotations: { [REF_NAME_ANNOTATION]: tag },
    })),
  };
}
