import execa from 'execa';
import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { writeFileViaTempSibling } from './atomic-output';

export interface ReproducibleTarOptions {
  /** Directory the member names are relative to. */
  cwd: string;
  /** What to archive, relative to `cwd`; default `['.']`. */
  paths?: string[];
  outFile: string;
  /** Unix seconds: no member is newer than this (e.g. the commit time). */
  mtime: number;
  /** A directory every member is put under, e.g. `usr/src/linux-headers-6.12.1-linuxkit/`. */
  prefix?: string;
  /** GNU tar `--exclude` patterns (globs, matched against any trailing part of a name). */
  exclude?: string[];
  /** Symlinks are always archived as symlinks; following them would change what a build sees. */
  dereference?: false;
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function checkedPrefix(prefix: string): string {
  const directory = prefix.endsWith('/') ? prefix : `${prefix}/`;
  // The prefix is spliced into a sed replacement, where these have meaning.
  if (path.isAbsolute(directory) || directory.split('/').includes('..') || /[,&\\\n]/.test(directory)) {
    throw new KernelBuildError(
      `tar prefix '${prefix}' must be a relative directory without '..', ',', '&', '\\' or newlines`,
    );
  }
  return directory;
}

/**
 * The GNU tar command line for a reproducible archive: names sorted, owner and group 0, mtimes
 * clamped, and pax headers stripped of atime, ctime and the pid that GNU tar puts in their names.
 */
export function reproducibleTarArgs(options: ReproducibleTarOptions, archiveFile: string): string[] {
  if (!Number.isInteger(options.mtime) || options.mtime < 0) {
    throw new KernelBuildError(`tar mtime ${options.mtime} is not a whole number of unix seconds`);
  }
  const args = [
    '--create',
    `--file=${archiveFile}`,
    `--directory=${options.cwd}`,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--mtime=@${options.mtime}`,
    '--clamp-mtime',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
  ];
  if (options.prefix !== undefined) {
    // One expression that also eats a leading './' (or the bare '.' of `-C dir .`), so members are
    // 'prefix/x', not 'prefix/./x'. The S flag leaves symlink targets alone: they point at the
    // filesystem, not at members.
    args.push(`--transform=s,^\\(\\.\\(/\\|$\\)\\)\\?,${checkedPrefix(options.prefix)},S`);
  }
  for (const pattern of options.exclude ?? []) args.push(`--exclude=${pattern}`);
  args.push('--', ...(options.paths ?? ['.']));
  return args;
}

/**
 * Archives `paths` under `cwd` with GNU tar so that the same tree gives a byte-identical tar,
 * whatever the files' owners or their mtimes after `mtime`. `outFile` appears only when complete.
 */
export async function writeReproducibleTar(options: ReproducibleTarOptions): Promise<{ outFile: string; size: number }> {
  const cwd = path.resolve(options.cwd);
  const outFile = path.resolve(options.outFile);
  const paths = options.paths ?? ['.'];
  if (paths.length === 0) throw new KernelBuildError(`nothing to archive into ${outFile}: paths is empty`);
  const insidePath = paths.find((member) => isInside(outFile, path.resolve(cwd, member)));
  if (insidePath !== undefined) {
    throw new KernelBuildError(
      `${outFile} is inside '${insidePath}', which it archives; the next run would archive this one`,
      `write the tar outside ${path.resolve(cwd, insidePath)}`,
    );
  }

  return writeFileViaTempSibling(outFile, async (tempFile) => {
    const args = reproducibleTarArgs({ ...options, cwd, paths }, tempFile);
    // LC_ALL=C: byte-order sorting and untranslated messages in errors.
    const result = await execa('tar', args, { env: { LC_ALL: 'C' }, reject: false });
    if (result.exitCode !== 0 || result.failed) {
      // Exit 1 is "file changed as we read it": the archive exists but is not a snapshot.
      const status = result.exitCode === undefined ? 'could not start GNU tar' : `exit ${result.exitCode}`;
      throw new KernelBuildError(
        `tar of ${paths.join(' ')} in ${cwd} failed (${status})`,
        result.exitCode === 1 ? 'something wrote to the tree while it was archived; archive it when the build is done' : 'check that the paths exist and GNU tar is installed',
        result.stderr,
      );
    }
    return { outFile, size: (await fs.stat(tempFile)).size };
  });
}
