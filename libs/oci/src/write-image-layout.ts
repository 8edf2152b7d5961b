import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { replaceDirectoryAtomically } from './atomic-output';
import { canonicalJson } from './canonical-json';
import { Sha256Digest, blobPath, sha256Digest } from './digest';
import {
  Descriptor,
  IMAGE_ARCHES,
  IMAGE_LAYOUT_VERSION,
  ImageArch,
  MEDIA_TYPES,
  buildImageConfig,
  buildImageIndex,
  buildImageManifest,
} from './image-spec';
import { ImageFile, planLayerTar, streamLayerTar } from './layer-tar';
import { gzipStreamParallel } from './parallel-gzip';

// The grammar of a registry tag (distribution/reference), so every tag we write can be pushed.
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface KernelImageLayoutOptions {
  /** The OCI image layout directory to write (oci-layout, index.json, blobs/sha256/…); replaced whole. */
  layoutDir: string;
  arch: ImageArch;
  /** The image's one layer: these files at the root, mode 0644 unless given, mtime `created`. */
  files: ImageFile[];
  /** config.Labels, e.g. org.mobyproject.linuxkit.kernel.buildimage. */
  labels: Record<string, string>;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Each becomes an index.json entry named by org.opencontainers.image.ref.name. */
  tags: string[];
  /** Unix seconds, e.g. the commit time, so rebuilding the same inputs gives the same digests. */
  created: number;
}

export interface KernelImageLayout {
  manifestDigest: Sha256Digest;
  configDigest: Sha256Digest;
  layer: { digest: Sha256Digest; diffId: Sha256Digest; size: number };
  manifestSize: number;
}

function checkStringMap(map: Record<string, string>, what: string): void {
  for (const [key, value] of Object.entries(map)) {
    if (key === '' || typeof value !== 'string') {
      throw new KernelBuildError(`${what} '${key}' must be a non-empty key with a string value`);
    }
  }
}

function checkLayoutOptions(options: KernelImageLayoutOptions): void {
  if (!IMAGE_ARCHES.includes(options.arch)) {
    throw new KernelBuildError(`image architecture '${options.arch}' is not one of ${IMAGE_ARCHES.join(', ')}`);
  }
  if (!Number.isInteger(options.created) || options.created < 0) {
    throw new KernelBuildError(`image creation time ${options.created} is not a whole number of unix seconds`);
  }
  if (options.tags.length === 0) {
    throw new KernelBuildError(`no tags given for the image in ${options.layoutDir}`, 'pass at least one tag, e.g. the kernel version');
  }
  for (const tag of options.tags) {
    if (!TAG_PATTERN.test(tag)) {
      throw new KernelBuildError(
        `'${tag}' is not a valid image tag`,
        'a tag is 1–128 of [A-Za-z0-9_.-] and does not start with . or -',
      );
    }
  }
  if (new Set(options.tags).size !== options.tags.length) {
    throw new KernelBuildError(`tags ${options.tags.join(', ')} name the same tag twice`);
  }
  checkStringMap(options.labels, 'label');
  checkStringMap(options.annotations ?? {}, 'annotation');
}

async function writeJsonBlob(layoutDir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(canonicalJson(value));
  const digest = sha256Digest(bytes);
  await fs.writeFile(blobPath(layoutDir, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

async function sourceSizes(files: ImageFile[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const file of files) {
    const stat = await fs.stat(file.source).catch((error: NodeJS.ErrnoException) => {
      throw new KernelBuildError(`image file '${file.path}': cannot read its source ${file.source} (${error.code})`);
    });
    if (!stat.isFile()) {
      throw new KernelBuildError(`image file '${file.path}': its source ${file.source} is not a regular file`);
    }
    sizes.set(file.source, stat.size);
  }
  return sizes;
}

/**
 * Writes a LinuxKit kernel image (FROM scratch, `files` at its root, one gzip layer) as an OCI
 * image layout. Everything is built in a sibling directory and swapped in, so `layoutDir` holds
 * the previous image or this one, never part of either. JSON is canonical and the layer
 * reproducible, so the same inputs give the same digests.
 */
export async function writeKernelImageLayout(options: KernelImageLayoutOptions): Promise<KernelImageLayout> {
  checkLayoutOptions(options);
  const sizes = await sourceSizes(options.files);
  const entries = planLayerTar(options.files, options.created, (source) => sizes.get(source)!);

  return replaceDirectoryAtomically(options.layoutDir, async (stagingDir) => {
    const blobsDir = path.join(stagingDir, 'blobs', 'sha256');
    await fs.mkdir(blobsDir, { recursive: true });

    const layerTemp = path.join(blobsDir, '.layer.partial');
    const layerGzip = await gzipStreamParallel(streamLayerTar(entries), layerTemp);
    await fs.rename(layerTemp, blobPath(stagingDir, layerGzip.digest));
    const layer: Descriptor = { mediaType: MEDIA_TYPES.layerTarGzip, digest: layerGzip.digest, size: layerGzip.size };

    const config = await writeJsonBlob(
      stagingDir,
      MEDIA_TYPES.imageConfig,
      buildImageConfig({ arch: options.arch, created: options.created, labels: options.labels, diffId: layerGzip.diffId }),
    );
    const manifest = await writeJsonBlob(
      stagingDir,
      MEDIA_TYPES.imageManifest,
      buildImageManifest({ config, layer, annotations: options.annotations }),
    );
    await fs.writeFile(
      path.join(stagingDir, 'index.json'),
      canonicalJson(buildImageIndex({ manifest, arch: options.arch, tags: options.tags })),
    );
    await fs.writeFile(path.join(stagingDir, 'oci-layout'), canonicalJson({ imageLayoutVersion: IMAGE_LAYOUT_VERSION }));

    return {
      manifestDigest: manifest.digest,
      configDigest: config.digest,
      layer: { digest: layerGzip.digest, diffId: layerGzip.diffId, size: layerGzip.size },
      manifestSize: manifest.size,
    };
  });
}
