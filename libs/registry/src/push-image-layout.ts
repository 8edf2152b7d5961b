import { promises as fs } from 'fs';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { Descriptor, Sha256Digest, blobPath, readImageLayout } from '@linuxkit-kernels/oci';
import { checkRepository } from './image-reference';
import { PlatformManifest } from './image-index-merge';
import { RegistryClient } from './registry-client';

export interface PushImageLayoutOptions {
  client: RegistryClient;
  /** An OCI image layout, as written by writeKernelImageLayout. */
  layoutDir: string;
  /** The tag of the image inside the layout (its org.opencontainers.image.ref.name). */
  tag: string;
  /** Where it goes at the registry, e.g. linuxkit/kernel. */
  repository: string;
  /** Repositories at the same registry that may already hold the blobs, to mount instead of upload. */
  mountFrom?: string[];
}

export interface PushedImage {
  manifestDigest: Sha256Digest;
  /** The pushed manifest as an index entry, ready for pushIndex. */
  manifest: PlatformManifest;
  uploadedBytes: number;
  uploadedBlobs: number;
  mountedBlobs: number;
  /** Blobs the repository already had. */
  skippedBlobs: number;
}

/**
 * Pushes one image of a layout: each blob the repository lacks (mounted from `mountFrom` when
 * the registry can), then the manifest by its digest. No tag is written here: a failure at any
 * step leaves nothing that names the image, and a tag only ever points at a complete one
 * (pushIndex writes the tags).
 */
export async function pushImageLayout(options: PushImageLayoutOptions): Promise<PushedImage> {
  const { client, layoutDir, tag, repository } = options;
  checkRepository(repository);
  const layout = await readImageLayout(layoutDir);
  const tagged = layout.manifests.filter((entry) => entry.tag === tag);
  if (tagged.length === 0) {
    const tags = layout.manifests.map((entry) => entry.tag).filter((name): name is string => name !== undefined);
    throw new KernelBuildError(`${layoutDir} has no image tagged '${tag}'`, `push one of: ${tags.join(', ') || '(no tagged images)'}`);
  }
  if (new Set(tagged.map((entry) => entry.digest)).size > 1) {
    throw new KernelBuildError(`${layoutDir} tags more than one manifest '${tag}'`, 'package the image again with one manifest per tag');
  }
  const { digest: manifestDigest, manifest, config } = tagged[0];
  const descriptor = layout.index.manifests.find((entry) => entry.digest === manifestDigest) as Descriptor;

  const blobs = [manifest.config, ...manifest.layers].filter(
    (blob, position, all) => all.findIndex((other) => other.digest === blob.digest) === position,
  );
  const pushed: PushedImage = {
    manifestDigest,
    manifest: {
      mediaType: manifest.mediaType ?? descriptor.mediaType,
      digest: manifestDigest,
      size: descriptor.size,
      platform: { os: config.os, architecture: config.architecture },
    },
    uploadedBytes: 0,
    uploadedBlobs: 0,
    mountedBlobs: 0,
    skippedBlobs: 0,
  };
  for (const blob of blobs) {
    if (await client.blobExists(repository, blob.digest)) {
      pushed.skippedBlobs += 1;
      continue;
    }
    const result = await client.uploadBlob(
      repository,
      { digest: blob.digest, size: blob.size, file: blobPath(layoutDir, blob.digest) },
      { mountFrom: options.mountFrom },
    );
    if (result.mountedFrom) pushed.mountedBlobs += 1;
    else pushed.uploadedBlobs += 1;
    pushed.uploadedBytes += result.uploadedBytes;
  }
  // The exact bytes from the layout, so the digest at the registry is the one we built.
  const manifestBytes = await fs.readFile(blobPath(layoutDir, manifestDigest));
  await client.putManifest(repository, manifestDigest, pushed.manifest.mediaType, manifestBytes);
  client.log(
    `pushed ${layoutDir}:${tag} to ${client.registry}/${repository}@${manifestDigest}: ` +
      `${pushed.uploadedBlobs} blobs uploaded (${pushed.uploadedBytes} bytes), ${pushed.mountedBlobs} mounted, ${pushed.skippedBlobs} already there`,
  );
  return pushed;
}
