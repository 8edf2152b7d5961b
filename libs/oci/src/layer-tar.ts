import { createReadStream } from 'fs';
import path from 'path';
import { Header, Pax } from 'tar';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/** A file placed in the image: `path` is relative to the image root (`kernel`, `usr/bin/perf`). */
export interface ImageFile {
  path: string;
  /** The file on disk whose content goes into the image. */
  source: string;
  /** Permission bits in the image; default 0o644. */
  mode?: number;
}

/** One member of a layer tar, with everything its header needs already decided. */
export type LayerTarEntry =
  | { type: 'Directory'; path: string; mode: number; mtime: number }
  | { type: 'File'; path: string; mode: number; mtime: number; size: number; source: string };

const DIRECTORY_MODE = 0o755;
const DEFAULT_FILE_MODE = 0o644;
const BLOCK = 512;

export function normaliseImagePath(imagePath: string): string {
  const normalised = path.posix.normalize(imagePath.replace(/^\/+/, ''));
  if (normalised === '.' || normalised === '' || normalised.split('/').includes('..') || normalised.endsWith('/')) {
    throw new KernelBuildError(
      `image path '${imagePath}' does not name a file inside the image`,
      "use a path relative to the image root, such as 'kernel' or 'usr/bin/perf'",
    );
  }
  return normalised;
}

/**
 * The members of a layer holding `files`: parent directories first, everything sorted by name
 * (byte order) so the tar does not depend on the order the caller listed them in, every mtime
 * `mtime`, owner 0. `sizeOf` gives each source's size (its stat, taken by the caller).
 */
export function planLayerTar(files: ImageFile[], mtime: number, sizeOf: (source: string) => number): LayerTarEntry[] {
  const byPath = new Map<string, LayerTarEntry>();
  for (const file of files) {
    const imagePath = normaliseImagePath(file.path);
    const mode = file.mode ?? DEFAULT_FILE_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new KernelBuildError(`mode ${mode} of image file '${imagePath}' is not a permission mode (0 to 0o7777)`);
    }
    if (byPath.has(imagePath)) {
      throw new KernelBuildError(`image file '${imagePath}' is listed twice`);
    }
    byPath.set(imagePath, { type: 'File', path: imagePath, mode, mtime, size: sizeOf(file.source), source: file.source });
  }
  for (const imagePath of [...byPath.keys()]) {
    for (let parent = path.posix.dirname(imagePath); parent !== '.'; parent = path.posix.dirname(parent)) {
      const existing = byPath.get(parent);
      if (existing?.type === 'File') {
        throw new KernelBuildError(`image file '${parent}' is also the directory of '${imagePath}'`);
      }
      byPath.set(parent, { type: 'Directory', path: parent, mode: DIRECTORY_MODE, mtime });
    }
  }
  const memberName = (entry: LayerTarEntry) => (entry.type === 'Directory' ? `${entry.path}/` : entry.path);
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(memberName(a)), Buffer.from(memberName(b))));
}

/**
 * The header block(s) of one member: a ustar header, preceded by a pax header when a field does
 * not fit ustar (a name over 255 bytes, a file of 8 GiB or more).
 */
export function encodeTarHeader(entry: LayerTarEntry): Buffer {
  const fields = {
    path: entry.type === 'Directory' ? `${entry.path}/` : entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    size: entry.type === 'File' ? entry.size : 0,
    mtime: new Date(entry.mtime * 1000),
  };
  const header = Buffer.alloc(BLOCK);
  const needsPax = new Header(fields).encode(header, 0);
  if (!needsPax) return header;
  const pax = new Pax({ path: fields.path, size: fields.size, mtime: fields.mtime }).encode();
  return Buffer.concat([pax, header]);
}

function paddingAfter(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * The tar of `entries` as a byte stream, reading each source as it goes. A source whose size is
 * not what was planned (something wrote to it while packaging) fails the stream rather than
 * put a torn file, or a corrupt tar, into the image.
 */
export async function* streamLayerTar(entries: LayerTarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield encodeTarHeader(entry);
    if (entry.type !== 'File') continue;
    let read = 0;
    const changedSize = () =>
      new KernelBuildError(
        `${entry.source} changed size from ${entry.size} to ${read} bytes while it was packaged as '${entry.path}'`,
        'package the image again once nothing writes to its files',
      );
    for await (const chunk of createReadStream(entry.source)) {
      read += (chunk as Buffer).length;
      if (read > entry.size) throw changedSize();
      yield chunk as Buffer;
    }
    if (read !== entry.size) throw changedSize();
    yield paddingAfter(entry.size);
  }
  // End of archive: two zero blocks.
  yield Buffer.alloc(2 * BLOCK);
}
