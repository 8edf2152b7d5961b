import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import execa from 'execa';
import { ReadEntry, Unpack } from 'tar';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { CpioEntryGuard } from './cpio-guard';
import { PackageIdentity } from './package-identity';
import { MemberRefusal, PackageEntry, PackageRootRules, normalizeMemberName } from './package-root-rules';

const TAR_TYPES: Record<string, PackageEntry['type']> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/** A member the rules refused: the package is unusable as given, whatever else failed after. */
class MemberRefusedError extends KernelBuildError {}

function refusalError(label: string, refusal: MemberRefusal): KernelBuildError {
  if (refusal.entry === undefined) {
    return new KernelBuildError(`${label}: cannot unpack (${refusal.reason})`, 'download the package again; it may be truncated');
  }
  return new MemberRefusedError(
    `${label}: refused member '${refusal.entry}': ${refusal.reason}`,
    'pass only the distribution\'s own kernel packages, each once, as `apt-get download` / `dnf download` fetch them',
  );
}

function collectStderr(child: execa.ExecaChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text.trim();
}

/** `dpkg-deb --fsys-tarfile` into node-tar, every member checked by `admit` before it is written. */
async function extractDeb(file: string, root: string, admit: (entry: PackageEntry) => string | undefined): Promise<PackageEntry[]> {
  const dpkg = execa('dpkg-deb', ['--fsys-tarfile', file], { buffer: false, stdout: 'pipe', stderr: 'pipe', reject: false });
  const stderr = collectStderr(dpkg);
  const entries: PackageEntry[] = [];
  let refusal: MemberRefusal | undefined;
  // preservePaths: node-tar would otherwise rewrite absolute symlink targets (`build -> /usr/src/…`)
  // and refuse links through links; `admit` already refuses every member that could leave the root.
  const unpack = new Unpack({
    cwd: root,
    strict: true,
    preservePaths: true,
    preserveOwner: false,
    filter: (name: string, stat: unknown) => {
      if (refusal) return false;
      const tarEntry = stat as ReadEntry;
      const entry: PackageEntry = { path: normalizeMemberName(name), type: TAR_TYPES[tarEntry.type] ?? 'device', linkTarget: tarEntry.linkpath };
      const reason = admit(entry);
      if (!reason) entries.push(entry);
      else {
        refusal = { entry: name, reason };
        dpkg.kill();
      }
      return !reason;
    },
  });
  const unpacked = new Promise<void>((resolve, reject) => {
    unpack.on('finish', () => resolve());
    unpack.on('error', (error: Error) => reject(error));
  });
  dpkg.stdout!.pipe(unpack);
  const [unpackResult, dpkgResult] = await Promise.allSettled([unpacked, dpkg]);
  if (refusal) throw refusalError(file, refusal);
  const exitCode = dpkgResult.status === 'fulfilled' ? dpkgResult.value.exitCode : undefined;
  if (exitCode !== 0) {
    throw new KernelBuildError(`${file}: dpkg-deb --fsys-tarfile failed (exit ${exitCode ?? 'unknown'})`, 'download the .deb again; it may be truncated', stderr() || undefined);
  }
  if (unpackResult.status === 'rejected') {
    throw new KernelBuildError(`${file}: cannot unpack its files into ${root} (${(unpackResult.reason as Error).message})`, 'check free space in the output directory');
  }
  return entries;
}

/**
 * Unpacks a newc cpio stream into `root` with `cpio -idm`, every member checked by `admit` before
 * cpio sees it. Used for rpm payloads (fed by rpm2cpio); exported so tests can feed a hand-made cpio.
 */
export async function extractCpioStream(
  source: Readable,
  root: string,
  admit: (entry: PackageEntry) => string | undefined,
  label: string,
): Promise<PackageEntry[]> {
  const guard = new CpioEntryGuard(admit);
  const cpio = execa('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: root, stdin: 'pipe', reject: false });
  const [piped, result] = await Promise.allSettled([pipeline(source, guard, cpio.stdin!), cpio]);
  if (guard.refusal) throw refusalError(label, guard.refusal);
  const exitCode = result.status === 'fulfilled' ? result.value.exitCode : undefined;
  // cpio exits at the trailer; the pipe may close under the last write, which is then no loss.
  const pipeFailed = piped.status === 'rejected' && !(guard.complete && exitCode === 0);
  if (pipeFailed || exitCode !== 0) {
    const details = result.status === 'fulfilled' ? result.value.stderr : String(result.reason);
    const cause = piped.status === 'rejected' ? (piped.reason as Error).message : `cpio exit ${exitCode ?? 'unknown'}`;
    throw new KernelBuildError(`${label}: cannot unpack the cpio payload (${cause})`, 'check that GNU cpio is installed and the package is complete', details || undefined);
  }
  return guard.entries;
}

async function extractRpm(file: string, root: string, admit: (entry: PackageEntry) => string | undefined): Promise<PackageEntry[]> {
  const rpm2cpio = execa('rpm2cpio', [file], { buffer: false, stdout: 'pipe', stderr: 'pipe', reject: false });
  const stderr = collectStderr(rpm2cpio);
  const [extracted, converted] = await Promise.allSettled([extractCpioStream(rpm2cpio.stdout!, root, admit, file), rpm2cpio]);
  // A refusal closes the pipe, so rpm2cpio failing then is a consequence, not the cause.
  if (extracted.status === 'rejected' && extracted.reason instanceof MemberRefusedError) throw extracted.reason;
  const result = converted.status === 'fulfilled' ? converted.value : undefined;
  if (result?.exitCode !== 0) {
    const notStarted = result?.exitCode === undefined;
    throw new KernelBuildError(
      `${file}: rpm2cpio failed (${notStarted ? 'could not start it' : `exit ${result.exitCode}`})`,
      notStarted ? 'install rpm2cpio (`apt-get install rpm2cpio`)' : 'download the .rpm again; it may be truncated',
      stderr() || undefined,
    );
  }
  if (extracted.status === 'rejected') throw extracted.reason;
  return extracted.value;
}

/**
 * Unpacks one package into the root all of a kernel's packages share, refusing (with the package
 * and member named) anything `rules` forbids. Returns the members it unpacked.
 */
export async function extractPackage(pkg: PackageIdentity, root: string, rules: PackageRootRules): Promise<PackageEntry[]> {
  const admit = (entry: PackageEntry) => rules.check(entry, `${pkg.name} (${pkg.file})`);
  return pkg.format === 'deb' ? extractDeb(pkg.file, root, admit) : extractRpm(pkg.file, root, admit);
}
