import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { RPM_LEAD_MAGIC, readRpmIdentity } from './rpm-header';
import { readFilePrefix } from './file-prefix';

export type PackageFormat = 'deb' | 'rpm';

export interface PackageIdentity {
  file: string;
  format: PackageFormat;
  name: string;
  version: string;
  /** As the package system spells it: amd64/arm64/all for .deb, x86_64/aarch64/noarch for .rpm. */
  arch: string;
}

const DEB_MAGIC = Buffer.from('!<arch>\ndebian-binary');

/** Which format the bytes are, by content: a renamed or truncated download must not pass. */
export function packageFormatOf(head: Buffer): PackageFormat | undefined {
  if (head.subarray(0, DEB_MAGIC.length).equals(DEB_MAGIC)) return 'deb';
  if (head.subarray(0, RPM_LEAD_MAGIC.length).equals(RPM_LEAD_MAGIC)) return 'rpm';
  return undefined;
}

/** Parses `dpkg-deb --field` output ("Package: x" lines; continuation lines start with a space). */
export function parseControlFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of text.matchAll(/^([A-Za-z0-9-]+):[ \t]*(.*)$/gm)) fields[match[1]] = match[2].trim();
  return fields;
}

async function identifyDeb(file: string): Promise<PackageIdentity> {
  const result = await execa('dpkg-deb', ['--field', file, 'Package', 'Version', 'Architecture'], { reject: false });
  const fields = parseControlFields(result.stdout);
  if (result.exitCode !== 0 || !fields.Package || !fields.Version || !fields.Architecture) {
    throw new KernelBuildError(`${file}: dpkg-deb cannot read the package's control fields`, 'download the .deb again (`apt-get download <package>`)', result.stderr.trim() || undefined);
  }
  return { file, format: 'deb', name: fields.Package, version: fields.Version, arch: fields.Architecture };
}

async function identifyRpm(file: string): Promise<PackageIdentity> {
  try {
    return { file, format: 'rpm', ...(await readRpmIdentity(file)) };
  } catch (error) {
    throw new KernelBuildError(`${file}: not a readable binary rpm (${(error as Error).message})`, 'download the .rpm again (`dnf download <package>`)');
  }
}

/** Name, version and arch of a .deb or .rpm, read from the file itself; anything else is refused. */
export async function identifyPackage(file: string): Promise<PackageIdentity> {
  const format = packageFormatOf(
    await readFilePrefix(file, DEB_MAGIC.length).catch((error: NodeJS.ErrnoException) => {
      throw new KernelBuildError(`cannot read package ${file} (${error.code ?? error.message})`, 'pass the paths of downloaded .deb or .rpm files');
    }),
  );
  if (format === 'deb') return identifyDeb(file);
  if (format === 'rpm') return identifyRpm(file);
  throw new KernelBuildError(
    `${file} is not a .deb or .rpm package`,
    'pass the kernel packages themselves: linux-image-…/linux-headers-… .deb files, or kernel-core/kernel-modules/kernel-devel .rpm files',
  );
}
