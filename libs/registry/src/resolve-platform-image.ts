import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ImageConfig, ImageManifest, MEDIA_TYPES, Sha256Digest } from '@linuxkit-kernels/oci';
import { ANY_MANIFEST_MEDIA_TYPES, Platform, findPlatformEntry, ociArchitecture, parseManifestDocument } from './manifest-document';
import { RegistryClient } from './registry-client';

/** One architecture's image at a registry: its manifest (exact bytes) and its config. */
export interface RemotePlatformImage {
  digest: Sha256Digest;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
  configBytes: Buffer;
  platform: Platform;
}

const IMAGE_ONLY = [MEDIA_TYPES.imageManifest, MEDIA_TYPES.dockerManifest];

/** Reads an image's config blob for the platform it declares. */
export async function readImageConfig(
  client: RegistryClient,
  repository: string,
  manifest: ImageManifest,
): Promise<{ bytes: Buffer; platform: Platform }> {
  const bytes = await client.readBlob(repository, manifest.config);
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new KernelBuildError(`the config ${manifest.config.digest} in ${repository} at ${client.registry} is not JSON`);
  }
  if (typeof config.architecture !== 'string' || typeof config.os !== 'string') {
    throw new KernelBuildError(`the config ${manifest.config.digest} in ${repository} at ${client.registry} names no os and architecture`);
  }
  const variant = (config as { variant?: unknown }).variant;
  return { bytes, platform: { os: config.os, architecture: config.architecture, ...(typeof variant === 'string' ? { variant } : {}) } };
}

/**
 * The image for `architecture` (linux) at `repository:reference`, following an index to its
 * entry. Undefined when the reference does not exist or holds no image for that architecture.
 */
export async function resolvePlatformImage(
  client: RegistryClient,
  repository: string,
  reference: string,
  architecture: string,
): Promise<RemotePlatformImage | undefined> {
  const wanted = ociArchitecture(architecture);
  const name = `${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  const top = await client.getManifest(repository, reference, ANY_MANIFEST_MEDIA_TYPES);
  if (!top) return undefined;
  let image = top;
  let document = parseManifestDocument(top.mediaType, top.bytes, `manifest ${name} at ${client.registry}`);
  if (document.kind === 'index') {
    const entry = findPlatformEntry(document.index, wanted);
    if (!entry) {
      client.log(`${name} has no linux/${wanted} image`);
      return undefined;
    }
    const listed = await client.getManifest(repository, entry.digest, IMAGE_ONLY);
    if (!listed) {
      throw new KernelBuildError(
        `the index ${name} at ${client.registry} lists ${entry.digest} for linux/${wanted}, but the registry has no such manifest`,
        'push that architecture\'s image again, then the index',
      );
    }
    image = listed;
    document = parseManifestDocument(listed.mediaType, listed.bytes, `manifest ${repository}@${entry.digest} at ${client.registry}`);
    if (document.kind !== 'image') {
      throw new KernelBuildError(`the linux/${wanted} entry of index ${name} at ${client.registry} is itself an index`);
    }
  }
  const config = await readImageConfig(client, repository, document.manifest);
  if (config.platform.architecture !== wanted || config.platform.os !== 'linux') {
    client.log(`${name} is an image for ${config.platform.os}/${config.platform.architecture}, not linux/${wanted}`);
    return undefined;
  }
  return {
    digest: image.digest,
    mediaType: image.mediaType,
    bytes: image.bytes,
    manifest: document.manifest,
    configBytes: config.bytes,
    platform: config.platform,
  };
}
