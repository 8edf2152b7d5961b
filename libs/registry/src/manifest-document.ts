import { KernelBuildError } from '@linuxkit-kernels/errors';
import { Descriptor, ImageIndex, ImageManifest, MEDIA_TYPES } from '@linuxkit-kernels/oci';

export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

const INDEX_MEDIA_TYPES = new Set<string>([MEDIA_TYPES.imageIndex, DOCKER_MANIFEST_LIST]);
const IMAGE_MEDIA_TYPES = new Set<string>([MEDIA_TYPES.imageManifest, MEDIA_TYPES.dockerManifest]);

/** The Accept list for "whatever is at this tag": an index or a single image, OCI or Docker. */
export const ANY_MANIFEST_MEDIA_TYPES: readonly string[] = [...INDEX_MEDIA_TYPES, ...IMAGE_MEDIA_TYPES];

export type Platform = NonNullable<Descriptor['platform']>;

export type ManifestDocument =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'image'; mediaType: string; manifest: ImageManifest };

/** `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | null | undefined): string | undefined {
  const bare = contentType?.split(';')[0].trim().toLowerCase();
  return bare || undefined;
}

/**
 * Tells an index from an image manifest. The Content-Type a registry sends wins; a generic one
 * (some registries say application/json) falls back to the document's own mediaType field,
 * then to its shape.
 */
export function parseManifestDocument(contentType: string | undefined, bytes: Buffer, what: string): ManifestDocument {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new KernelBuildError(`${what} is not JSON`);
  }
  if (json === null || typeof json !== 'object' || json.schemaVersion !== 2) {
    throw new KernelBuildError(`${what} is not a schemaVersion 2 manifest`, 'only OCI and Docker schema 2 images are supported');
  }
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const known = (type: string | undefined) => type !== undefined && (INDEX_MEDIA_TYPES.has(type) || IMAGE_MEDIA_TYPES.has(type));
  const shape = Array.isArray(json.manifests) ? MEDIA_TYPES.imageIndex : json.config && Array.isArray(json.layers) ? MEDIA_TYPES.imageManifest : undefined;
  const mediaType = [contentType, declared, shape].find(known);
  if (mediaType === undefined) {
    throw new KernelBuildError(`${what} is ${contentType ?? declared ?? 'of no media type'}, neither an image manifest nor an image index`);
  }
  if (INDEX_MEDIA_TYPES.has(mediaType)) {
    if (!Array.isArray(json.manifests)) throw new KernelBuildError(`${what} says it is an image index but lists no manifests`);
    return { kind: 'index', mediaType, index: json as unknown as ImageIndex };
  }
  if (!json.config || !Array.isArray(json.layers)) throw new KernelBuildError(`${what} says it is an image manifest but has no config and layers`);
  return { kind: 'image', mediaType, manifest: json as unknown as ImageManifest };
}

// The names the kernel world uses (uname -m) for the OCI architectures.
const OCI_ARCHITECTURES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', riscv64: 'riscv64' };

/** `x86_64` → `amd64`, `aarch64` → `arm64`; OCI names pass through. */
export function ociArchitecture(name: string): string {
  return OCI_ARCHITECTURES[name] ?? name;
}

/** The entry of an index for one linux architecture (any variant), or undefined. */
export function findPlatformEntry(index: ImageIndex, architecture: string, os = 'linux'): Descriptor | undefined {
  const wanted = ociArchitecture(architecture);
  return index.manifests.find(
    (entry) => entry.platform?.architecture === wanted && entry.platform.os === os && IMAGE_MEDIA_TYPES.has(entry.mediaType),
  );
}
