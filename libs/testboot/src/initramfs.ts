import { randomBytes } from 'crypto';
import { createWriteStream } from 'fs';
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, stat } from 'fs/promises';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { createGzip } from 'zlib';
import * as tar from 'tar';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { BootArch } from './arch';
import { assertBusyboxFits } from './elf';
import { INIT_APPLETS } from './init-script';
import { CpioEntry, newcArchive } from './newc';

export const DEFAULT_BUSYBOX = '/bin/busybox';

export interface ExtraFile {
  /** Where the file lands in the initramfs, e.g. /usr/bin/stress. */
  path: string;
  /** The host file to copy there. */
  source: string;
  /** Permission bits; 0644 unless given. */
  mode?: number;
}

export interface InitramfsOptions {
  outFile: string;
  /** A statically linked busybox for the guest; /bin/busybox (Debian's busybox-static) by default. */
  busybox?: string;
  /** An image's kernel.tar; its lib/modules/<release>/ tree is copied in, without the build/source links. */
  modulesTar?: string;
  /** The text of /init. */
  init: string;
  extraFiles?: readonly ExtraFile[];
  /** When given, busybox is checked to be a static binary for this architecture. */
  arch?: BootArch;
}

export interface InitramfsSummary {
  outFile: string;
  entryCount: number;
  /** The <release> directories found under lib/modules in modulesTar. */
  moduleReleases: string[];
}

interface HostFile {
  source: string;
  size: number;
}

export interface InitramfsParts {
  busybox: HostFile;
  init: string;
  /** The modules tree, paths relative to the archive root (lib/modules/…). */
  modules: readonly CpioEntry[];
  extraFiles: readonly (HostFile & { path: string; mode: number })[];
}

/** An archive path ("usr/bin/x") from a guest path ("/usr/bin/x"); refuses anything escaping the root. */
export function archivePath(guestPath: string): string {
  const normalised = path.posix.normalize(guestPath.replace(/^\/+/, ''));
  if (normalised === '.' || normalised === '' || normalised.startsWith('../') || normalised === '..') {
    throw new KernelBuildError(`initramfs path '${guestPath}' does not name a file inside the initramfs`, 'give an absolute path such as /usr/bin/tool');
  }
  return normalised.replace(/\/+$/, '');
}

/**
 * Every member of the initramfs, parents before children, in byte order of their paths, so the
 * same inputs always give the same archive. Two sources claiming one path is an error rather
 * than a silent override.
 */
export function initramfsLayout(parts: InitramfsParts): CpioEntry[] {
  const byPath = new Map<string, { entry: CpioEntry; origin: string }>();

  const add = (entry: CpioEntry, origin: string) => {
    const existing = byPath.get(entry.path);
    if (existing) {
      if (existing.entry.kind === 'directory' && entry.kind === 'directory') return;
      throw new KernelBuildError(
        `initramfs path /${entry.path} is provided twice: by ${existing.origin} and by ${origin}`,
        'give each extra file a path the initramfs does not already use',
      );
    }
    byPath.set(entry.path, { entry, origin });
  };

  for (const dir of ['bin', 'dev', 'proc', 'sys']) add({ kind: 'directory', path: dir, mode: 0o755 }, 'the initramfs skeleton');
  add({ kind: 'directory', path: 'tmp', mode: 0o1777 }, 'the initramfs skeleton');
  // The kernel opens /dev/console for init before /init can mount devtmpfs; without it init has no output.
  add({ kind: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 }, 'the initramfs skeleton');
  add({ kind: 'file', path: 'bin/busybox', mode: 0o755, ...parts.busybox }, `busybox (${parts.busybox.source})`);
  for (const applet of INIT_APPLETS) add({ kind: 'symlink', path: `bin/${applet}`, target: 'busybox' }, `the busybox applet ${applet}`);
  add({ kind: 'file', path: 'init', mode: 0o755, content: Buffer.from(parts.init, 'utf8') }, '/init');
  for (const entry of parts.modules) add(entry, 'the modules tar');
  for (const extra of parts.extraFiles) {
    add({ kind: 'file', path: archivePath(extra.path), mode: extra.mode, source: extra.source, size: extra.size }, `the extra file ${extra.source}`);
  }

  for (const { entry, origin } of [...byPath.values()]) {
    for (let parent = path.posix.dirname(entry.path); parent !== '.'; parent = path.posix.dirname(parent)) {
      const existing = byPath.get(parent);
      if (!existing) {
        byPath.set(parent, { entry: { kind: 'directory', path: parent, mode: 0o755 }, origin: `the parent of /${entry.path}` });
      } else if (existing.entry.kind !== 'directory') {
        throw new KernelBuildError(
          `initramfs path /${parent} is a ${existing.entry.kind} from ${existing.origin}, but ${origin} needs it to be a directory`,
          'give each extra file a path the initramfs does not already use',
        );
      }
    }
  }

  return [...byPath.values()].map(({ entry }) => entry).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const MODULE_TREE_PATH = /^lib\/modules\/[^/]+(?:\/|$)/;
// modules_install links these to the build tree; the image replaces them with a link to headers. Neither exists in the guest.
const BUILD_LINKS = /^lib\/modules\/[^/]+\/(?:build|source)(?:\/|$)/;
const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

function tarMemberPath(rawPath: string): string {
  return rawPath.replace(/^(?:\.?\/)+/, '');
}

/** Whether a kernel.tar member belongs in the initramfs: the modules tree, minus its links to the build tree. */
export function isModuleTreeMember(rawPath: string): boolean {
  const member = tarMemberPath(rawPath);
  return MODULE_TREE_PATH.test(member) && !BUILD_LINKS.test(member);
}

async function extractModulesTree(modulesTar: string, into: string): Promise<void> {
  try {
    await tar.x({
      file: modulesTar,
      cwd: into,
      filter: (memberPath, entry) => isModuleTreeMember(memberPath) && (!('type' in entry) || EXTRACTED_TYPES.has(entry.type)),
    });
  } catch (error) {
    throw new KernelBuildError(`cannot read modules tar ${modulesTar}: ${(error as Error).message}`, "pass the image's kernel.tar (lib/modules/<release>/…)");
  }
}

/** The extracted tree as archive entries; modes are normalised so the host's umask cannot leak in. */
async function modulesTreeEntries(root: string, relative = ''): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [];
  for (const name of (await readdir(path.join(root, relative))).sort()) {
    const memberPath = relative ? `${relative}/${name}` : name;
    const hostPath = path.join(root, memberPath);
    const info = await lstat(hostPath);
    if (info.isDirectory()) {
      entries.push({ kind: 'directory', path: memberPath, mode: 0o755 }, ...(await modulesTreeEntries(root, memberPath)));
    } else if (info.isSymbolicLink()) {
      entries.push({ kind: 'symlink', path: memberPath, target: await readlink(hostPath) });
    } else if (info.isFile()) {
      entries.push({ kind: 'file', path: memberPath, mode: info.mode & 0o111 ? 0o755 : 0o644, source: hostPath, size: info.size });
    }
  }
  return entries;
}

function moduleReleasesIn(modules: readonly CpioEntry[]): string[] {
  return modules.filter((entry) => entry.kind === 'directory' && /^lib\/modules\/[^/]+$/.test(entry.path)).map((entry) => path.posix.basename(entry.path));
}

async function hostFile(source: string, what: string, fix: string): Promise<HostFile> {
  const info = await stat(source).catch(() => undefined);
  if (!info?.isFile()) throw new KernelBuildError(`${what} ${source} does not exist or is not a regular file`, fix);
  return { source, size: info.size };
}

/** Writes beside the target and renames, so a reader never sees half an initramfs. */
async function writeAtomically(outFile: string, content: AsyncIterable<Buffer>): Promise<void> {
  await mkdir(path.dirname(outFile), { recursive: true });
  const partial = `${outFile}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  try {
    // A fixed level: the default may change between Node releases, and with it the bytes.
    await pipeline(Readable.from(content), createGzip({ level: 9 }), createWriteStream(partial));
    await rename(partial, outFile);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Builds a gzip'd newc initramfs: busybox with a link per applet /init uses, /init itself, the
 * modules tree of an image's kernel.tar and any extra files. The same inputs give the same bytes.
 */
export async function buildInitramfs(options: InitramfsOptions): Promise<InitramfsSummary> {
  const busyboxPath = options.busybox ?? DEFAULT_BUSYBOX;
  const busybox = await hostFile(busyboxPath, 'busybox', 'install it (apt-get install busybox-static) or pass the path of a static busybox');
  if (options.arch) await assertBusyboxFits(busyboxPath, options.arch);
  const extraFiles = await Promise.all(
    (options.extraFiles ?? []).map(async (extra) => ({
      ...(await hostFile(extra.source, `extra file for ${extra.path}:`, 'check the source path of the extra file')),
      path: extra.path,
      mode: extra.mode ?? 0o644,
    })),
  );

  const scratch = options.modulesTar ? await mkdtemp(path.join(tmpdir(), 'testboot-modules-')) : undefined;
  try {
    let modules: CpioEntry[] = [];
    if (options.modulesTar && scratch) {
      await hostFile(options.modulesTar, 'modules tar', "pass the image's kernel.tar (lib/modules/<release>/…)");
      await extractModulesTree(options.modulesTar, scratch);
      modules = await modulesTreeEntries(scratch);
    }
    const entries = initramfsLayout({ busybox, init: options.init, modules, extraFiles });
    await writeAtomically(options.outFile, newcArchive(entries));
    return { outFile: options.outFile, entryCount: entries.length, moduleReleases: moduleReleasesIn(modules) };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
