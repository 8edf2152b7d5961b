import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ImageIndex, MEDIA_TYPES, Sha256Digest, canonicalJson, sha256Digest } from '@linuxkit-kernels/oci';
import { checkRepository, checkTag } from './image-reference';
import { PlatformManifest, formatPlatform, indexListsAll, mergeImageIndex, platformsOf } from './image-index-merge';
import { ANY_MANIFEST_MEDIA_TYPES, Platform, parseManifestDocument } from './manifest-document';
import { RegistryClient } from './registry-client';
import { readImageConfig } from './resolve-platform-image';

export interface PushIndexOptions {
  client: RegistryClient;
  repository: string;
  tags: string[];
  /** Images already pushed to `repository` (e.g. pushImageLayout's `manifest`), one per platform. */
  manifests: PlatformManifest[];
}

export interface PushedIndex {
  tag: string;
  digest: Sha256Digest;
  /** Every platform the index at the tag lists now, ours and those other machines pushed. */
  platforms: Platform[];
}

// A tag another machine rewrites between our read and our write loses our entries; we notice
// on the read-back and merge again, this many times at most.
const MAX_MERGE_ROUNDS = 3;

/** What the tag holds now, as an index: an index as is, a single image as a one-entry index. */
async function readTagAsIndex(
  client: RegistryClient,
  repository: string,
  tag: string,
): Promise<{ digest: Sha256Digest; index: ImageIndex } | undefined> {
  const current = await client.getManifest(repository, tag, ANY_MANIFEST_MEDIA_TYPES);
  if (!current) return undefined;
  const document = parseManifestDocument(current.mediaType, current.bytes, `manifest ${repository}:${tag} at ${client.registry}`);
  if (document.kind === 'index') return { digest: current.digest, index: document.index };
  const { platform } = await readImageConfig(client, repository, document.manifest);
  return {
    digest: current.digest,
    index: {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.imageIndex,
      manifests: [{ mediaType: current.mediaType, digest: current.digest, size: current.bytes.length, platform }],
    },
  };
}

/**
 * Points each tag at an OCI image index holding `manifests` merged into what the tag held:
 * other platforms' entries are kept, ours replace those of the same platform. This is how one
 * machine per architecture publishes under a shared tag.
 */
export async function pushIndex(options: PushIndexOptions): Promise<PushedIndex[]> {
  const { client, repository, tags, manifests } = options;
  checkRepository(repository);
  tags.forEach(checkTag);
  if (manifests.length === 0) throw new KernelBuildError(`no manifests given for the index of ${repository}`);

  const results: PushedIndex[] = [];
  for (const tag of tags) {
    for (let round = 1; ; round += 1) {
      const before = await readTagAsIndex(client, repository, tag);
      const merged = mergeImageIndex(before?.index, manifests);
      const bytes = Buffer.from(canonicalJson(merged));
      if (before?.digest !== sha256Digest(bytes)) await client.putManifest(repository, tag, MEDIA_TYPES.imageIndex, bytes);
      const after = await readTagAsIndex(client, repository, tag);
      if (after && indexListsAll(after.index, manifests)) {
        const platforms = platformsOf(after.index);
        client.log(`${client.registry}/${repository}:${tag} is index ${after.digest} for ${platforms.map(formatPlatform).join(', ')}`);
        results.push({ tag, digest: after.digest, platforms });
        break;
      }
      if (round === MAX_MERGE_ROUNDS) {
        throw new KernelBuildError(
          `the index at ${client.registry}/${repository}:${tag} kept being rewritten without our images while we merged into it`,
          'another push to the same tag is running; run this push again when it has finished',
        );
      }
      client.log(`${repository}:${tag} was rewritten by someone else while we merged; merging again`);
    }
  }
  return results;
}
