import { Sha256Digest } from '@linuxkit-kernels/oci';
import { checkRepository, checkTag } from './image-reference';
import { RegistryClient } from './registry-client';
import { resolvePlatformImage } from './resolve-platform-image';

export interface RemoteImage {
  digest: Sha256Digest;
  mediaType: string;
  size: number;
}

/**
 * Whether the registry already has `repository:tag` for `architecture` (following an index to
 * its entry): the build's "someone already built this" check. `architecture` may be the OCI
 * name (amd64) or the kernel's (x86_64).
 */
export async function findRemoteImage(
  client: RegistryClient,
  repository: string,
  tag: string,
  architecture: string,
): Promise<RemoteImage | undefined> {
  checkRepository(repository);
  checkTag(tag);
  const image = await resolvePlatformImage(client, repository, tag, architecture);
  return image && { digest: image.digest, mediaType: image.mediaType, size: image.bytes.length };
}
