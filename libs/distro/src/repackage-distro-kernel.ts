import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ARTIFACT_FILES, BuildMetadata } from '@linuxkit-kernels/kbuild';
import { writeReproducibleTar } from '@linuxkit-kernels/oci';
import { extractPackage } from './extract-package';
import { assembleHeadersTree } from './headers-tree';
import { BOOTABLE_FORMATS, KERNEL_IMAGE_HEAD_SIZE, kernelImageFormat } from './kernel-image';
import { assembleModulesTree } from './modules-tree';
import { PackageIdentity, identifyPackage } from './package-identity';
import { PackageRootRules } from './package-root-rules';
import { DistroArch, RepackagePlan, checkPackageSet, describePackage, planRepackage, surveyPackage } from './repackage-plan';
import { assembleUapiHeaders } from './uapi-headers';
import { isProcessAlive } from '@linuxkit-kernels/scratch';
import { readFilePrefix } from './file-prefix';

export interface RepackageDistroKernelOptions {
  /** .deb or .rpm files of one kernel: image, modules, headers (Debian: also -common and linux-kbuild), optionally UAPI headers. */
  packages: string[];
  /** The artifacts directory the package step reads; replaced whole. */
  outDir: string;
  arch: DistroArch;
  /** Unix seconds every tar member is clamped to. */
  mtime: number;
  /** Default `distro:<debian|rpm>:<image package>=<version>`. */
  builder?: string;
  log?: (line: string) => void;
}

export interface RepackagedKernel {
  release: string;
  /** Absolute paths of the files written into outDir. */
  files: string[];
}

const PLACEHOLDER_SYSTEM_MAP = /^\S+ \S The real System\.map is in/;

function defaultBuilder(plan: RepackagePlan): string {
  return `distro:${plan.format === 'deb' ? 'debian' : 'rpm'}:${plan.image.name}=${plan.image.version}`;
}

async function firstFile(root: string, candidates: string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    const stat = await fs.stat(path.join(root, candidate)).catch(() => undefined);
    if (stat?.isFile()) return candidate;
  }
  return undefined;
}

/** kernel, System.map and config, taken before the modules tree moves (Fedora keeps them in it). */
async function copyBootFiles(root: string, plan: RepackagePlan, arch: DistroArch, artifacts: string, log: (line: string) => void): Promise<void> {
  const { release } = plan;
  const format = kernelImageFormat(await readFilePrefix(path.join(root, plan.kernelImage), KERNEL_IMAGE_HEAD_SIZE));
  if (!format || !BOOTABLE_FORMATS[arch].includes(format)) {
    const what = format ? `${/^[AEIOU]/i.test(format) ? 'an' : 'a'} ${format}` : 'not a kernel image we know';
    throw new KernelBuildError(
      `/${plan.kernelImage} from ${describePackage(plan.image)} is ${what}, not one an ${arch} LinuxKit image can boot (${BOOTABLE_FORMATS[arch].join(', ')})`,
      `pass the ${arch} kernel packages`,
    );
  }
  const inModules = (name: string) => [`lib/modules/${release}/${name}`, `usr/lib/modules/${release}/${name}`];
  const wanted: Array<[string, string[]]> = [
    [ARTIFACT_FILES.kernel, [plan.kernelImage]],
    // Debian's /boot/System.map is a one-line placeholder; its -dbg package has the real one.
    [ARTIFACT_FILES.systemMap, [`usr/lib/debug/boot/System.map-${release}`, `boot/System.map-${release}`, ...inModules('System.map')]],
    [ARTIFACT_FILES.config, [`boot/config-${release}`, ...inModules('config')]],
  ];
  for (const [artifact, candidates] of wanted) {
    const found = await firstFile(root, candidates);
    if (!found) {
      throw new KernelBuildError(`the packages have no ${artifact} for ${release} (looked for ${candidates.map((name) => `/${name}`).join(', ')})`, 'add the package that ships it (Ubuntu: linux-modules-<release>)');
    }
    // Ubuntu ships /boot files mode 0600; the image's files are world-readable.
    await fs.copyFile(path.join(root, found), path.join(artifacts, artifact));
    await fs.chmod(path.join(artifacts, artifact), 0o644);
  }
  if (PLACEHOLDER_SYSTEM_MAP.test((await readFilePrefix(path.join(artifacts, ARTIFACT_FILES.systemMap), 128)).toString('latin1'))) {
    log(`note: System.map is ${describePackage(plan.image)}'s placeholder; pass its -dbg package (${plan.image.name}-dbg) for the real one`);
  }
}


/** Work directories of runs that were killed: a kernel's packages unpack to hundreds of MB. */
async function removeAbandonedWorkDirs(outDir: string): Promise<void> {
  const pattern = new RegExp(`^${path.basename(outDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-[0-9a-f]{8}$`);
  for (const name of await fs.readdir(path.dirname(outDir)).catch(() => [] as string[])) {
    const match = pattern.exec(name);
    if (match && !isProcessAlive(Number(match[1]))) await fs.rm(path.join(path.dirname(outDir), name), { recursive: true, force: true });
  }
}

async function unpackAll(identities: PackageIdentity[], root: string, arch: DistroArch, log: (line: string) => void): Promise<RepackagePlan> {
  const rules = new PackageRootRules();
  const surveys = [];
  // One at a time: the rules see every package's members in a fixed order.
  for (const identity of identities) {
    log(`unpacking ${describePackage(identity)}`);
    surveys.push(surveyPackage(identity, await extractPackage(identity, root, rules)));
  }
  return planRepackage(surveys, arch);
}

/**
 * Turns a distribution's binary kernel packages into the artifacts directory a compile leaves for
 * the package step: kernel, System.map, config, kernel.tar (depmod run), kernel-headers.tar,
 * kernel-dev.tar and build.json. Everything is built in `<outDir>.tmp-*` and renamed into place.
 */
export async function repackageDistroKernel(options: RepackageDistroKernelOptions): Promise<RepackagedKernel> {
  const log = options.log ?? (() => undefined);
  if (!Object.prototype.hasOwnProperty.call(BOOTABLE_FORMATS, options.arch)) {
    throw new KernelBuildError(`cannot repackage distribution kernels for arch '${options.arch}'`, `use one of ${Object.keys(BOOTABLE_FORMATS).join(', ')}`);
  }
  if (!Number.isInteger(options.mtime) || options.mtime < 0) {
    throw new KernelBuildError(`mtime ${options.mtime} is not a whole number of unix seconds`, 'pass e.g. the commit time of the kernel definition');
  }
  const identities: PackageIdentity[] = [];
  for (const file of options.packages) identities.push(await identifyPackage(path.resolve(file)));
  checkPackageSet(identities, options.arch);

  const outDir = path.resolve(options.outDir);
  await fs.mkdir(path.dirname(outDir), { recursive: true });
  await removeAbandonedWorkDirs(outDir);
  const work = `${outDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const [root, stage, artifacts] = ['root', 'stage', 'artifacts'].map((name) => path.join(work, name));
  try {
    await Promise.all([root, stage, artifacts].map((dir) => fs.mkdir(dir, { recursive: true })));
    const plan = await unpackAll(identities, root, options.arch, log);
    const { release } = plan;
    log(`release ${release}: image ${describePackage(plan.image)}`);

    await copyBootFiles(root, plan, options.arch, artifacts, log);
    await assembleHeadersTree({ ...plan, root, destination: path.join(stage, 'dev/usr/src', `linux-headers-${release}`), log });
    log(`headers tree usr/src/linux-headers-${release} assembled`);
    await assembleModulesTree({ root, release, destination: path.join(stage, 'modules'), log });
    const uapi = await assembleUapiHeaders(root, path.join(stage, 'headers'));
    if (!uapi.shipped) log('no UAPI headers package (linux-libc-dev / kernel-headers) given: kernel-headers.tar holds an empty usr/include/');

    const tar = async (tree: string, paths: string[], file: string) =>
      writeReproducibleTar({ cwd: path.join(stage, tree), paths, outFile: path.join(artifacts, file), mtime: options.mtime });
    await tar('modules', (await fs.readdir(path.join(stage, 'modules'))).sort(), ARTIFACT_FILES.modules);
    await tar('headers', ['usr'], ARTIFACT_FILES.headers);
    await tar('dev', ['usr'], ARTIFACT_FILES.dev);
    const metadata: BuildMetadata = { release, arch: options.arch, builder: options.builder ?? defaultBuilder(plan), mtime: options.mtime };
    await fs.writeFile(path.join(artifacts, ARTIFACT_FILES.metadata), `${JSON.stringify(metadata, null, 2)}\n`);

    const names = (await fs.readdir(artifacts)).sort();
    // Swapped in whole: a failed run leaves the previous artifacts, never a mix.
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(artifacts, outDir);
    log(`kernel ${release} for ${options.arch}: ${outDir}`);
    return { release, files: names.map((name) => path.join(outDir, name)) };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
