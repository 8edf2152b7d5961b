import { promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';
import { Header } from 'tar';

export interface RawTarEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  linkpath?: string;
  body?: string;
  mode?: number;
}

/** A tar written header by header, with no sanitising: what a hostile archive can contain. */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const blocks = entries.flatMap((entry) => {
    const body = Buffer.from(entry.body ?? '');
    const header = new Header({
      path: entry.path,
      type: entry.type,
      linkpath: entry.linkpath,
      size: body.length,
      mode: entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      mtime: new Date(0),
    });
    header.encode();
    return [header.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512)];
  });
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** The offset just past the header of the entry named `name`: a safe extractor must not see that byte. */
export function headerEnd(tar: Buffer, name: string): number {
  for (let offset = 0; offset + 512 <= tar.length; offset += 512) {
    const header = new Header(tar.subarray(offset, offset + 512));
    if (header.cksumValid && header.path === name) return offset + 512;
  }
  throw new Error(`no header ${name}`);
}

/** A small source tree as a kernel release has it: one top directory, a script, a relative symlink. */
export async function writeSourceTree(dir: string, top: string): Promise<void> {
  await fs.mkdir(path.join(dir, top, 'scripts'), { recursive: true });
  await fs.mkdir(path.join(dir, top, 'include', 'linux'), { recursive: true });
  await fs.writeFile(path.join(dir, top, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 12\n');
  await fs.writeFile(path.join(dir, top, 'include', 'linux', 'kernel.h'), '#define HELLO 1\n');
  await fs.writeFile(path.join(dir, top, 'scripts', 'setlocalversion'), '#!/bin/sh\necho -linuxkit\n', { mode: 0o755 });
  await fs.symlink('../include/linux/kernel.h', path.join(dir, top, 'scripts', 'kernel.h'));
}

/** Writes `<dir>/<name>.tar` of `<dir>/<top>` with GNU tar and returns its path. */
export async function tarDirectory(dir: string, top: string, name: string): Promise<string> {
  const tarball = path.join(dir, `${name}.tar`);
  await execa('tar', ['-cf', tarball, '--sort=name', '--owner=0', '--group=0', '-C', dir, top]);
  return tarball;
}

const COMPRESSOR = { xz: ['xz', '.xz'], gzip: ['gzip', '.gz'], zstd: ['zstd', '.zst'] } as const;

/** Compresses a copy of `file` (`x.tar` → `x.tar.xz`) with the CLI and returns its path. */
export async function compressFile(file: string, compression: keyof typeof COMPRESSOR): Promise<string> {
  const [command, suffix] = COMPRESSOR[compression];
  const { stdout } = await execa(command, ['-c', file], { encoding: null });
  await fs.writeFile(file + suffix, stdout);
  return file + suffix;
}

export const SAMPLE_TOP: RawTarEntry = { path: 'linux-6.12.1/', type: 'Directory' };
export const SAMPLE_MAKEFILE: RawTarEntry = { path: 'linux-6.12.1/Makefile', type: 'File', body: 'VERSION = 6\n' };

/** Tars that a safe extractor must refuse, each with the entry it must name. */
export const HOSTILE_TARS: Record<string, { entries: RawTarEntry[]; refused: string }> = {
  'a ../ path': { entries: [SAMPLE_TOP, SAMPLE_MAKEFILE, { path: '../evil', type: 'File', body: 'x' }], refused: '../evil' },
  'an absolute path': { entries: [SAMPLE_TOP, SAMPLE_MAKEFILE, { path: '/etc/evil', type: 'File', body: 'x' }], refused: '/etc/evil' },
  'a symlink out of the tree, then a file through it': {
    entries: [SAMPLE_TOP, { path: 'linux-6.12.1/link', type: 'SymbolicLink', linkpath: '../../outside' }, { path: 'linux-6.12.1/link/file', type: 'File', body: 'x' }],
    refused: 'linux-6.12.1/link',
  },
  'a hard link to /etc/passwd': { entries: [SAMPLE_TOP, { path: 'linux-6.12.1/passwd', type: 'Link', linkpath: '/etc/passwd' }], refused: 'linux-6.12.1/passwd' },
  'a character device': { entries: [SAMPLE_TOP, { path: 'linux-6.12.1/null', type: 'CharacterDevice' }], refused: 'linux-6.12.1/null' },
  'a FIFO': { entries: [SAMPLE_TOP, { path: 'linux-6.12.1/pipe', type: 'FIFO' }], refused: 'linux-6.12.1/pipe' },
};
