import { createHash } from 'crypto';
import { once } from 'events';
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import path from 'path';
import { Transform } from 'stream';
import { finished, pipeline } from 'stream/promises';
import zlib from 'zlib';
import { Parser, ReadEntry } from 'tar';
import { KernelBuildError, isKernelBuildError } from '@linuxkit-kernels/errors';
import { writeFileViaTempSibling } from './atomic-output';
import { Sha256Digest, blobPath, sha256Digest } from './digest';
import {
  Descriptor,
  IMAGE_LAYOUT_VERSION,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  MEDIA_TYPES,
  REF_NAME_ANNOTATION,
} from './image-spec';
import { normaliseImagePath } from './layer-tar';

// Registries refuse manifests over 4 MiB; a bigger JSON blob here is not one of ours.
const MAX_JSON_BLOB_BYTES = 4 * 1024 * 1024;

const REWRITE_FIX = 'the layout was changed after it was written; package the kernel image again';

function corruptBlob(layoutDir: string, what: string, digest: string, problem: string): KernelBuildError {
  return new KernelBuildError(`blob ${digest} (${what}) in ${layoutDir} ${problem}`, REWRITE_FIX, blobPath(layoutDir, digest));
}

async function statBlob(layoutDir: string, descriptor: Descriptor, what: string): Promise<void> {
  const stat = await fs.stat(blobPath(layoutDir, descriptor.digest)).catch(() => undefined);
  if (!stat) throw corruptBlob(layoutDir, what, descriptor.digest, 'is missing');
  if (stat.size !== descriptor.size) {
    throw corruptBlob(layoutDir, what, descriptor.digest, `is corrupt: ${stat.size} bytes, its descriptor says ${descriptor.size}`);
  }
}

function checkDigest(layoutDir: string, what: string, expected: string, actual: string): void {
  if (actual !== expected) throw corruptBlob(layoutDir, what, expected, `is corrupt: its content hashes to ${actual}`);
}

function parseJson<T>(bytes: Buffer | string, onError: () => KernelBuildError): T {
  try {
    return JSON.parse(bytes.toString()) as T;
  } catch {
    throw onError();
  }
}

async function readVerifiedJsonBlob<T>(layoutDir: string, descriptor: Descriptor, what: string): Promise<T> {
  if (!Number.isInteger(descriptor.size) || descriptor.size > MAX_JSON_BLOB_BYTES) {
    throw corruptBlob(layoutDir, what, descriptor.digest, `claims ${descriptor.size} bytes, more than a manifest or config may have`);
  }
  await statBlob(layoutDir, descriptor, what);
  const bytes = await fs.readFile(blobPath(layoutDir, descriptor.digest));
  checkDigest(layoutDir, what, descriptor.digest, sha256Digest(bytes));
  return parseJson<T>(bytes, () => corruptBlob(layoutDir, what, descriptor.digest, 'is not JSON'));
}

async function sha256OfFile(file: string): Promise<Sha256Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export interface ImageLayoutManifest {
  /** org.opencontainers.image.ref.name of its index entry, if it has one. */
  tag: string | undefined;
  digest: Sha256Digest;
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface ImageLayoutContents {
  index: ImageIndex;
  manifests: ImageLayoutManifest[];
}

export interface ReadImageLayoutOptions {
  /** Also hash every layer blob (slow for big layers); by default layers are only checked to exist at their size. */
  verifyLayers?: boolean;
}

/**
 * Reads an OCI image layout: its index and, for each manifest it lists, the manifest and the
 * config, each checked against its digest. A blob that is missing, of the wrong size or whose
 * content does not hash to its digest is a KernelBuildError naming it.
 */
export async function readImageLayout(layoutDir: string, options: ReadImageLayoutOptions = {}): Promise<ImageLayoutContents> {
  const layout = path.resolve(layoutDir);
  const readLayoutFile = (name: string) =>
    fs.readFile(path.join(layout, name)).catch(() => {
      throw new KernelBuildError(`${layout} is not an OCI image layout: it has no readable ${name}`);
    });
  const version = parseJson<{ imageLayoutVersion?: string }>(await readLayoutFile('oci-layout'), () =>
    new KernelBuildError(`${layout}/oci-layout is not JSON`),
  ).imageLayoutVersion;
  if (version !== IMAGE_LAYOUT_VERSION) {
    throw new KernelBuildError(`${layout} is image layout version ${version}; only ${IMAGE_LAYOUT_VERSION} is supported`);
  }
  const index = parseJson<ImageIndex>(await readLayoutFile('index.json'), () => new KernelBuildError(`${layout}/index.json is not JSON`));
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
    throw new KernelBuildError(`${layout}/index.json is not an OCI image index (schemaVersion 2 with manifests)`);
  }

  const manifests: ImageLayoutManifest[] = [];
  for (const descriptor of index.manifests) {
    const tag = descriptor.annotations?.[REF_NAME_ANNOTATION];
    const name = tag === undefined ? 'an untagged manifest' : `the manifest of tag ${tag}`;
    if (descriptor.mediaType !== MEDIA_TYPES.imageManifest && descriptor.mediaType !== MEDIA_TYPES.dockerManifest) {
      throw new KernelBuildError(
        `${layout}/index.json lists ${name} as ${descriptor.mediaType}, which is not an image manifest`,
        'nested image indexes are not read here; read each architecture\'s layout on its own',
      );
    }
    const manifest = await readVerifiedJsonBlob<ImageManifest>(layout, descriptor, name);
    const config = await readVerifiedJsonBlob<ImageConfig>(layout, manifest.config, `the config of ${name}`);
    for (const [position, layer] of manifest.layers.entries()) {
      const what = `layer ${position} of ${name}`;
      await statBlob(layout, layer, what);
      if (options.verifyLayers) checkDigest(layout, what, layer.digest, await sha256OfFile(blobPath(layout, layer.digest)));
    }
    manifests.push({ tag, digest: descriptor.digest, manifest, config });
  }
  return { index, manifests };
}

function memberName(entry: ReadEntry): string {
  return entry.path.replace(/^(?:\.?\/)+/, '').replace(/\/+$/, '');
}

interface LayerMember {
  mode: number;
  size: number;
}

/**
 * Streams one layer (verifying its digest, size and diff_id on the way) and writes the member
 * `wanted` to `outFile` if the layer has it. `seen` collects member names for error messages.
 */
async function extractFromLayer(
  layoutDir: string,
  layer: Descriptor,
  diffId: string | undefined,
  what: string,
  wanted: string,
  outFile: string,
  seen: string[],
): Promise<LayerMember | undefined> {
  const gzipped = layer.mediaType === MEDIA_TYPES.layerTarGzip || layer.mediaType === MEDIA_TYPES.dockerLayerTarGzip;
  if (!gzipped && layer.mediaType !== MEDIA_TYPES.layerTar) {
    throw new KernelBuildError(`${what} in ${layoutDir} is ${layer.mediaType}; only tar and tar+gzip layers can be read`);
  }
  const compressedHash = createHash('sha256');
  const uncompressedHash = createHash('sha256');
  let compressedSize = 0;
  let found: LayerMember | undefined;
  let written: Promise<void> | undefined;
  let notAFile: string | undefined;

  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      const name = memberName(entry);
      seen.push(name);
      const isFile = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
      if (name !== wanted || found || notAFile || !isFile) {
        if (name === wanted && !found && !isFile) notAFile = entry.type;
        // A bare Parser waits for each entry to be consumed before the next.
        entry.resume();
        return;
      }
      found = { mode: (entry.mode ?? 0o644) & 0o7777, size: entry.size };
      const out = createWriteStream(outFile);
      written = finished(out);
      // Awaited after parsing; this only keeps an early failure from counting as unhandled.
      written.catch(() => undefined);
      entry.pipe(out);
    },
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  const hashCompressed = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      compressedHash.update(chunk);
      compressedSize += chunk.length;
      callback(null, chunk);
    },
  });
  const parseTar = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      uncompressedHash.update(chunk);
      if (!parser.write(chunk)) await once(parser, 'drain');
    }
    parser.end();
    await parsed;
    await written;
  };

  const file = blobPath(layoutDir, layer.digest);
  try {
    if (gzipped) await pipeline(createReadStream(file), hashCompressed, zlib.createGunzip(), parseTar);
    else await pipeline(createReadStream(file), hashCompressed, parseTar);
  } catch (error) {
    if (isKernelBuildError(error)) throw error;
    // A damaged blob usually fails here (bad gzip, bad tar) before its digest can be compared.
    throw corruptBlob(layoutDir, what, layer.digest, `is corrupt: ${(error as Error).message}`);
  }
  checkDigest(layoutDir, what, layer.digest, `sha256:${compressedHash.digest('hex')}`);
  if (compressedSize !== layer.size) {
    throw corruptBlob(layoutDir, what, layer.digest, `is corrupt: ${compressedSize} bytes, its descriptor says ${layer.size}`);
  }
  const actualDiffId = `sha256:${uncompressedHash.digest('hex')}`;
  if (diffId !== undefined && actualDiffId !== diffId) {
    throw corruptBlob(layoutDir, what, layer.digest, `does not match the config: it unpacks to ${actualDiffId}, not ${diffId}`);
  }
  if (notAFile) {
    throw new KernelBuildError(`'${wanted}' in ${what} is a ${notAFile}, not a regular file`);
  }
  return found;
}

/**
 * Copies the file `imagePath` (e.g. `kernel`, `kernel.tar`) of the image tagged `tag` in an OCI
 * image layout to `dest`, streaming the layer and verifying it. Layers are searched from the top;
 * whiteouts are not interpreted (kernel images have one layer). `dest` appears only when complete.
 */
export async function extractImageFile(
  layoutDir: string,
  tag: string,
  imagePath: string,
  dest: string,
): Promise<{ dest: string; size: number; mode: number }> {
  const layout = path.resolve(layoutDir);
  const wanted = normaliseImagePath(imagePath);
  const { manifests } = await readImageLayout(layout);
  const tagged = manifests.filter((entry) => entry.tag === tag);
  if (tagged.length === 0) {
    const tags = manifests.map((entry) => entry.tag).filter((name): name is string => name !== undefined);
    throw new KernelBuildError(`${layout} has no image tagged '${tag}'`, `use one of: ${tags.join(', ') || '(no tagged images)'}`);
  }
  if (new Set(tagged.map((entry) => entry.digest)).size > 1) {
    throw new KernelBuildError(`${layout} tags more than one manifest '${tag}'`, 'extract from a layout with one image per tag');
  }
  const { manifest, config } = tagged[0];

  return writeFileViaTempSibling(dest, async (tempFile) => {
    const seen: string[] = [];
    for (let position = manifest.layers.length - 1; position >= 0; position -= 1) {
      const what = `layer ${position} of the image tagged ${tag}`;
      const diffId = config.rootfs?.diff_ids?.[position];
      const member = await extractFromLayer(layout, manifest.layers[position], diffId, what, wanted, tempFile, seen);
      if (member) {
        await fs.chmod(tempFile, member.mode);
        return { dest: path.resolve(dest), size: member.size, mode: member.mode };
      }
    }
    const listed = seen.filter((name) => name !== '').slice(0, 20);
    throw new KernelBuildError(
      `the image tagged '${tag}' in ${layout} has no file '${wanted}'`,
      undefined,
      `it holds: ${listed.join(', ')}${seen.length > listed.length ? ', …' : ''}`,
    );
  });
}
