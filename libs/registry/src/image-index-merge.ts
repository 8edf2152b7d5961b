import { KernelBuildError } from '@linuxkit-kernels/errors';
import { Descriptor, ImageIndex, MEDIA_TYPES } from '@linuxkit-kernels/oci';
import { Platform } from './manifest-document';

/** An image manifest to list in an index, with the platform it runs on. */
export interface PlatformManifest {
  mediaType: string;
  digest: string;
  size: number;
  platform: Platform;
}

// BuildKit lists provenance/SBOM manifests for image `d` as platform unknown/unknown with these.
const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
const REFERENCE_DIGEST_ANNOTATION = 'vnd.docker.reference.digest';

export function samePlatform(a: Platform | undefined, b: Platform | undefined): boolean {
  return a !== undefined && b !== undefined && a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

function comparePlatforms(a: Descriptor, b: Descriptor): number {
  // Entries without a platform go last, in their original order (Array.prototype.sort is stable).
  if (!a.platform || !b.platform) return Number(!a.platform) - Number(!b.platform);
  const key = (platform: Platform) => [platform.architecture, platform.os, platform.variant ?? ''];
  const [left, right] = [key(a.platform), key(b.platform)];
  for (let part = 0; part < left.length; part += 1) {
    if (left[part] !== right[part]) return left[part] < right[part] ? -1 : 1;
  }
  return 0;
}

/**
 * The index a tag should hold after adding `additions` to what it holds now: an entry with the
 * same platform as an addition is replaced (as are attestations that describe it), every other
 * entry is kept, so machines that build different architectures can each add theirs. The result
 * is an OCI index with entries sorted by architecture, so the same set of images gives the same
 * bytes whoever merged last. `existing` may be an OCI index or a Docker manifest list.
 */
export function mergeImageIndex(existing: ImageIndex | undefined, additions: PlatformManifest[]): ImageIndex {
  additions.forEach((addition, position) => {
    const twin = additions.findIndex((other) => samePlatform(other.platform, addition.platform));
    if (twin !== position) {
      throw new KernelBuildError(
        `two manifests (${additions[twin].digest} and ${addition.digest}) are both for ${formatPlatform(addition.platform)}`,
        'give one manifest per platform',
      );
    }
  });
  const kept = existing?.manifests ?? [];
  const replaced = new Set(
    kept.filter((entry) => additions.some((addition) => samePlatform(entry.platform, addition.platform))).map((entry) => entry.digest as string),
  );
  const survivors = kept.filter((entry) => {
    if (additions.some((addition) => samePlatform(entry.platform, addition.platform))) return false;
    const describes = entry.annotations?.[REFERENCE_DIGEST_ANNOTATION];
    return !(entry.annotations?.[REFERENCE_TYPE_ANNOTATION] && describes !== undefined && replaced.has(describes));
  });
  const added: Descriptor[] = additions.map((addition) => ({
    mediaType: addition.mediaType,
    digest: addition.digest as Descriptor['digest'],
    size: addition.size,
    platform: { ...addition.platform },
  }));
  const annotations = existing?.annotations && Object.keys(existing.annotations).length > 0 ? existing.annotations : undefined;
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageIndex,
    manifests: [...survivors, ...added].sort(comparePlatforms),
    ...(annotations ? { annotations } : {}),
  };
}

/** The platforms an index lists, in its order. */
export function platformsOf(index: ImageIndex): Platform[] {
  return index.manifests.flatMap((entry) => (entry.platform ? [entry.platform] : []));
}

/** Whether `index` lists each of `manifests` under its platform (what a merge must preserve). */
export function indexListsAll(index: ImageIndex, manifests: PlatformManifest[]): boolean {
  return manifests.every((manifest) =>
    index.manifests.some((entry) => entry.digest === manifest.digest && samePlatform(entry.platform, manifest.platform)),
  );
}
