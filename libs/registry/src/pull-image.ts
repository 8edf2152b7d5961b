import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { IMAGE_ARCHES, ImageArch, Sha256Digest, blobPath, buildImageIndex, canonicalJson } from '@linuxkit-kernels/oci';
import { checkManifestReference, checkRepository, checkTag } from './image-reference';
import { ociArchitecture } from './manifest-document';
import { RegistryClient } from './registry-client';
import { replaceDirectoryAtomically } from '@linuxkit-kernels/oci';
import { resolvePlatformImage } from './resolve-platform-image';

export interface PullImageOptions {
  client: RegistryClient;
  repository: string;
  /** A tag or a digest. */
  reference: string;
  /** amd64, arm64, riscv64 (or x86_64, aarch64). */
  architecture: string;
  /** The OCI image layout to write; replaced whole, atomically. */
  layoutDir: string;
  /** The names the image gets in the layout's index.json. */
  tags: string[];
}

export interface PulledImage {
  layoutDir: string;
  manifestDigest: Sha256Digest;
  tags: string[];
  /** Bytes of layers downloaded (manifest and config not counted). */
  downloadedBytes: number;
}

const IMAGE_LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/**
 * Downloads one architecture's image into an OCI image layout (readable by readImageLayout and
 * by `skopeo … oci:<dir>:<tag>`), every blob verified against its digest on the way. Resolves
 * to undefined when the registry has no such reference or no image for that architecture: the
 * build then builds it itself.
 */
export async function pullImageToLayout(options: PullImageOptions): Promise<PulledImage | undefined> {
  const { client, repository, reference, layoutDir, tags } = options;
  checkRepository(repository);
  checkManifestReference(reference);
  if (tags.length === 0) throw new KernelBuildError(`no tags given for the image pulled into ${layoutDir}`, 'pass at least one tag');
  tags.forEach(checkTag);
  const arch = ociArchitecture(options.architecture) as ImageArch;
  if (!IMAGE_ARCHES.includes(arch)) {
    throw new KernelBuildError(`architecture '${options.architecture}' is not one of ${IMAGE_ARCHES.join(', ')}`);
  }

  const image = await resolvePlatformImage(client, repository, reference, arch);
  if (!image) return undefined;

  const downloadedBytes = await replaceDirectoryAtomically(layoutDir, async (staging) => {
    await fs.mkdir(path.join(staging, 'blobs', 'sha256'), { recursive: true });
    await fs.writeFile(blobPath(staging, image.digest), image.bytes);
    await fs.writeFile(blobPath(staging, image.manifest.config.digest), image.configBytes);
    let bytes = 0;
    const seen = new Set<string>();
    for (const layer of image.manifest.layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      await client.downloadBlob(repository, layer, blobPath(staging, layer.digest));
      bytes += layer.size;
    }
    const index = buildImageIndex({ manifest: { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length }, arch, tags });
    await fs.writeFile(path.join(staging, 'index.json'), canonicalJson(index));
    await fs.writeFile(path.join(staging, 'oci-layout'), IMAGE_LAYOUT_FILE);
    return bytes;
  });
  client.log(`pulled ${client.registry}/${repository}@${image.digest} (linux/${arch}, ${downloadedBytes} layer bytes) into ${layoutDir}`);
  return { layoutDir: path.resolve(layoutDir), manifestDigest: image.digest, tags, downloadedBytes };
}
