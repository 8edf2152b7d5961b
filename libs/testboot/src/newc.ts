import { createReadStream } from 'fs';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/**
 * One member of a newc ("070701") cpio archive, the format the kernel unpacks as an initramfs.
 * Paths are relative to the archive root ("bin/busybox"); owners, times and inode numbers are
 * not part of an entry because the writer fixes them, which is what makes archives reproducible.
 */
export type CpioEntry =
  | { kind: 'directory'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; content: Buffer }
  | { kind: 'file'; path: string; mode: number; source: string; size: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; mode: number; major: number; minor: number };

const FILE_TYPE = { directory: 0o040000, file: 0o100000, symlink: 0o120000, chardev: 0o020000 } as const;
const HEADER_LENGTH = 110;

interface NewcHeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
  /** The member's name without its terminating NUL. */
  name: string;
}

/** The header and the NUL-terminated, 4-byte padded name that precede a member's data. */
export function newcHeader(fields: NewcHeaderFields): Buffer {
  const name = Buffer.from(fields.name, 'utf8');
  const hex = (value: number) => value.toString(16).toUpperCase().padStart(8, '0');
  const header = [
    '070701',
    hex(fields.ino),
    hex(fields.mode),
    hex(0), // uid: root
    hex(0), // gid: root
    hex(fields.nlink),
    hex(0), // mtime: the epoch, so the archive does not depend on when its inputs were written
    hex(fields.fileSize),
    hex(0), // devmajor
    hex(0), // devminor
    hex(fields.rdevMajor),
    hex(fields.rdevMinor),
    hex(name.length + 1),
    hex(0), // check: unused by newc
  ].join('');
  return Buffer.concat([Buffer.from(header, 'ascii'), name, Buffer.alloc(1 + paddingAfter(HEADER_LENGTH + name.length + 1))]);
}

function paddingAfter(length: number): number {
  return (4 - (length % 4)) % 4;
}

function headerFor(entry: CpioEntry, ino: number): Buffer {
  const common = { ino, name: entry.path, rdevMajor: 0, rdevMinor: 0 };
  switch (entry.kind) {
    case 'directory':
      return newcHeader({ ...common, mode: FILE_TYPE.directory | entry.mode, nlink: 2, fileSize: 0 });
    case 'file':
      return newcHeader({
        ...common,
        mode: FILE_TYPE.file | entry.mode,
        nlink: 1,
        fileSize: 'content' in entry ? entry.content.length : entry.size,
      });
    case 'symlink':
      return newcHeader({ ...common, mode: FILE_TYPE.symlink | 0o777, nlink: 1, fileSize: Buffer.byteLength(entry.target) });
    case 'chardev':
      return newcHeader({ ...common, mode: FILE_TYPE.chardev | entry.mode, nlink: 1, fileSize: 0, rdevMajor: entry.major, rdevMinor: entry.minor });
  }
}

async function* fileData(source: string, expectedSize: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) {
    size += chunk.length;
    yield chunk;
  }
  // The header already promised expectedSize bytes; any other count would corrupt every later member.
  if (size !== expectedSize) {
    throw new KernelBuildError(`${source} changed size while it was being archived (${expectedSize} → ${size} bytes)`, 'rebuild the initramfs once the file is no longer being written');
  }
}

/**
 * The bytes of a newc archive holding `entries` in the given order, streamed so that a large
 * modules tree never sits in memory. Inode numbers count up from 1 in entry order.
 */
export async function* newcArchive(entries: readonly CpioEntry[]): AsyncGenerator<Buffer> {
  let ino = 1;
  for (const entry of entries) {
    yield headerFor(entry, ino++);
    let dataLength = 0;
    if (entry.kind === 'file' && 'content' in entry) {
      yield entry.content;
      dataLength = entry.content.length;
    } else if (entry.kind === 'file') {
      yield* fileData(entry.source, entry.size);
      dataLength = entry.size;
    } else if (entry.kind === 'symlink') {
      const target = Buffer.from(entry.target, 'utf8');
      yield target;
      dataLength = target.length;
    }
    const padding = paddingAfter(dataLength);
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield newcHeader({ ino: 0, mode: 0, nlink: 1, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: 'TRAILER!!!' });
}
