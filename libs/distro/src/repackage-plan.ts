import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { kernelArchProfile } from '@linuxkit-kernels/kbuild';
import { PackageFormat, PackageIdentity } from './package-identity';
import { PackageEntry } from './package-root-rules';

export type DistroArch = 'x86_64' | 'aarch64';

/** What one package brings to the kernel, read off its member names. */
export interface PackageSurvey {
  identity: PackageIdentity;
  /** Root-relative paths of boot images with the release their name gives. */
  kernelImages: Array<{ path: string; release: string }>;
  /** Releases under lib/modules or usr/lib/modules (a headers package has one too, for its build link). */
  moduleReleases: string[];
  /** Root-relative header trees: usr/src/linux-headers-<name> (Debian, Ubuntu) or usr/src/kernels/<release> (Fedora). */
  headerTrees: string[];
  /** Ships usr/include (linux-libc-dev, kernel-headers). */
  uapiHeaders: boolean;
}

export interface RepackagePlan {
  release: string;
  format: PackageFormat;
  /** The package holding the boot image: the builder reference names it. */
  image: PackageIdentity;
  kernelImage: string;
  /** The header tree named for the release: what `lib/modules/<release>/build` pointed at. */
  headersTree: string;
  /** Every header tree, with the package that ships it (the release's tree and, e.g., Debian's -common). */
  headerTreeOwners: Map<string, PackageIdentity>;
  uapiHeaders: boolean;
}

export function describePackage(identity: PackageIdentity): string {
  return `${identity.name} ${identity.version} (${path.basename(identity.file)})`;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

export function surveyPackage(identity: PackageIdentity, entries: PackageEntry[]): PackageSurvey {
  const kernelImages: PackageSurvey['kernelImages'] = [];
  const moduleReleases: string[] = [];
  const headerTrees: string[] = [];
  let uapiHeaders = false;
  for (const { path: name, type } of entries) {
    const bootImage = /^boot\/vmlinuz-(.+)$/.exec(name) ?? /^(?:usr\/)?lib\/modules\/([^/]+)\/vmlinuz$/.exec(name);
    if (bootImage && type === 'file') kernelImages.push({ path: name, release: bootImage[1] });
    const modules = /^(?:usr\/)?lib\/modules\/([^/]+)/.exec(name);
    if (modules) moduleReleases.push(modules[1]);
    const tree = /^usr\/src\/(?:linux-headers-[^/]+|kernels\/[^/]+)/.exec(name);
    if (tree) headerTrees.push(tree[0]);
    if (name.startsWith('usr/include/')) uapiHeaders = true;
  }
  return { identity, kernelImages, moduleReleases: unique(moduleReleases), headerTrees: unique(headerTrees), uapiHeaders };
}

/** The package system's name for the arch: Debian's names are the OCI ones (amd64, arm64). */
function packageArchNames(format: PackageFormat, arch: DistroArch): string[] {
  return format === 'deb' ? [kernelArchProfile(arch).ociArch, 'all'] : [arch, 'noarch'];
}

function releaseOfTree(tree: string): string {
  return tree.replace(/^usr\/src\/(?:linux-headers-|kernels\/)/, '');
}

function chooseImage(surveys: PackageSurvey[]): { survey: PackageSurvey; release: string; kernelImage: string } {
  const withImage = surveys.filter((survey) => survey.kernelImages.length > 0);
  if (withImage.length === 0) {
    throw new KernelBuildError(
      `no kernel image among the packages: ${surveys.map((survey) => describePackage(survey.identity)).join(', ')}`,
      'add the image package: linux-image-<release> (.deb, the versioned one the linux-image-<flavour> metapackage depends on) or kernel-core (.rpm)',
    );
  }
  const images = withImage.flatMap((survey) => survey.kernelImages.map((image) => ({ survey, ...image })));
  const releases = unique(images.map((image) => image.release));
  if (withImage.length > 1 || releases.length > 1) {
    throw new KernelBuildError(
      `more than one kernel image: ${images.map((image) => `${image.release} in ${describePackage(image.survey.identity)}`).join('; ')}`,
      'pass the packages of one kernel: exactly one linux-image-<release> or kernel-core',
    );
  }
  // /boot first: Fedora also keeps a copy in the modules directory, Debian only has /boot.
  const kernelImage = images.find((image) => image.path.startsWith('boot/')) ?? images[0];
  return { survey: withImage[0], release: releases[0], kernelImage: kernelImage.path };
}

/** Refuses, before anything is unpacked, a set that mixes formats or has packages of another arch. */
export function checkPackageSet(identities: PackageIdentity[], arch: DistroArch): PackageFormat {
  if (identities.length === 0) throw new KernelBuildError('no packages given', 'pass the .deb or .rpm files of one kernel (image and headers)');
  const formats = unique(identities.map((identity) => identity.format));
  if (formats.length > 1) {
    throw new KernelBuildError(`the packages mix .deb and .rpm: ${identities.map(describePackage).join(', ')}`, 'pass the packages of one distribution kernel');
  }
  const archNames = packageArchNames(formats[0], arch);
  for (const identity of identities) {
    if (!archNames.includes(identity.arch)) {
      throw new KernelBuildError(`${describePackage(identity)} is for ${identity.arch}, not ${arch} (${archNames[0]})`, `download the ${archNames[0]} packages, or pass the arch they are for`);
    }
  }
  return formats[0];
}

/**
 * Decides from the packages' names and members which kernel they make, refusing a set that does
 * not make exactly one: no image, images or headers of different releases, the wrong arch, or
 * (for .deb, which Debian builds all from one source version) packages of different versions.
 */
export function planRepackage(surveys: PackageSurvey[], arch: DistroArch): RepackagePlan {
  const format = checkPackageSet(surveys.map((survey) => survey.identity), arch);
  const { survey: imageSurvey, release, kernelImage } = chooseImage(surveys);
  const image = imageSurvey.identity;
  for (const survey of surveys) {
    const foreign = [...survey.moduleReleases, ...survey.headerTrees.filter((tree) => tree.startsWith('usr/src/kernels/')).map(releaseOfTree)].find((other) => other !== release);
    if (foreign !== undefined) {
      throw new KernelBuildError(
        `mixed releases: ${describePackage(survey.identity)} is for kernel ${foreign}, but the image ${describePackage(image)} is ${release}`,
        `pass the headers and modules packages of ${release}, or the image of ${foreign}`,
      );
    }
    if (format === 'deb' && survey.identity.version !== image.version) {
      throw new KernelBuildError(
        `mixed versions: ${describePackage(survey.identity)} is not from the same build as the image ${describePackage(image)}`,
        `download ${survey.identity.name}=${image.version} (Debian builds all of a kernel's packages from one source version)`,
      );
    }
  }

  const headerTreeOwners = new Map<string, PackageIdentity>();
  for (const survey of surveys) for (const tree of survey.headerTrees) headerTreeOwners.set(tree, survey.identity);
  const headersTree = [`usr/src/linux-headers-${release}`, `usr/src/kernels/${release}`].find((tree) => headerTreeOwners.has(tree));
  if (headersTree === undefined) {
    throw new KernelBuildError(
      `no headers for ${release}: kernel-dev.tar needs them so out-of-tree modules can be built`,
      format === 'deb'
        ? `add linux-headers-${release} and the packages it depends on (\`apt-cache depends linux-headers-${release}\`: its -common and linux-kbuild)`
        : 'add the kernel-devel package of the same version',
    );
  }
  return { release, format, image, kernelImage, headersTree, headerTreeOwners, uapiHeaders: surveys.some((survey) => survey.uapiHeaders) };
}
