import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { KernelProject, computeInputHash, imageTags, inputPaths, loadKernelProjects, Arch } from '@linuxkit-kernels/spec';
import { ensurePristineTree, fetchPatchSet, fetchSource, openStore, patchSetPatches } from '@linuxkit-kernels/source';
import { listSeriesPatches, preparePatchedTree, PatchFile, withTreeLock } from '@linuxkit-kernels/patches';
import {
  ARTIFACT_FILES,
  BuildIdentity,
  builderReference,
  collectKernelArtifacts,
  configureKernel,
  detectToolchain,
  hostKernelArch,
  kernelArchProfile,
  KernelArch,
  readBuildMetadata,
  runMake,
} from '@linuxkit-kernels/kbuild';
import { extractImageFile, writeFileViaTempSibling, writeKernelImageLayout } from '@linuxkit-kernels/oci';
import { runBootTest } from '@linuxkit-kernels/testboot';
import { workPaths, WorkPaths } from './work-paths';
import { fetchArtifactsFromRegistry, PublishOptions, RELEASE_ANNOTATION } from './publish';

/** The label LinuxKit reads to find the environment a kernel was built in. */
export const BUILDIMAGE_LABEL = 'org.mobyproject.linuxkit.kernel.buildimage';
export const KEYRING = 'kernels/common/kernel.org-keyring.asc';

export interface StepContext {
  workspaceRoot: string;
  projectName: string;
  arch?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface Resolved {
  project: KernelProject;
  arch: KernelArch;
  paths: WorkPaths;
}

export function resolveStep(context: StepContext): Resolved {
  const projects = loadKernelProjects(context.workspaceRoot);
  const project = projects.find((candidate) => candidate.name === context.projectName);
  if (!project) throw new KernelBuildError(`no kernel project named ${context.projectName}`, `use one of ${projects.map((p) => p.name).join(', ')}`);
  const arch = (context.arch ?? hostKernelArch()) as KernelArch;
  kernelArchProfile(arch);
  if (!project.arches.includes(arch as Arch)) {
    throw new KernelBuildError(`${project.name} is not built for ${arch}`, `use --arch=${project.arches.join(' or --arch=')}, or add ${arch} to arches in ${project.file}`);
  }
  return { project, arch, paths: workPaths(context.workspaceRoot, project, arch, context.env) };
}

export async function fetchStep(context: StepContext): Promise<{ tarballPath: string; fetched: boolean }> {
  const { project, paths } = resolveStep(context);
  const result = await fetchSource(project.source, {
    store: openStore(paths.store),
    keyringPath: path.join(context.workspaceRoot, KEYRING),
    signal: context.signal,
    log: context.log,
  });
  context.log(`${result.fetched ? 'fetched' : 'in store'}: ${result.tarballPath}`);
  return result;
}

async function seriesPatches(context: StepContext, project: KernelProject, paths: WorkPaths): Promise<PatchFile[]> {
  const sets: PatchFile[] = [];
  for (const spec of project.patchSets) {
    const tarball = await fetchPatchSet(spec, { store: openStore(paths.store), log: context.log, signal: context.signal });
    sets.push(...(await patchSetPatches(spec, tarball, paths.workRoot, context.log)));
  }
  const lists = await Promise.all(project.patchDirs.map((dir) => listSeriesPatches(path.join(context.workspaceRoot, dir))));
  return [...sets, ...lists.flat()];
}

/**
 * A build dir belongs to one source tarball: after a version bump the tree's untouched files carry
 * the new tarball's (older) mtimes, so make would trust stale objects. Start such a dir afresh.
 */
function claimBuildDir(buildDir: string, sourceSha256: string, log: (line: string) => void): void {
  const marker = path.join(buildDir, '.kbuild-source');
  if (fs.existsSync(buildDir) && (!fs.existsSync(marker) || fs.readFileSync(marker, 'utf8').trim() !== sourceSha256)) {
    log(`build dir ${buildDir} was made from another source: starting it afresh`);
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(marker, `${sourceSha256}\n`);
}

/**
 * One build of a project at a time: its patched tree and build dirs may be shared by several
 * checkouts (KERNEL_WORK_DIR), and re-patching a tree under a running make corrupts the build.
 * A second run waits for the first. Steps call the unlocked helpers inside it.
 */
export function withProjectLock<T>(context: StepContext, work: () => Promise<T>): Promise<T> {
  const { paths } = resolveStep(context);
  fs.mkdirSync(path.dirname(paths.tree), { recursive: true });
  return withTreeLock(`${paths.tree}.build`, context.log, () => work());
}

/** Fetch (a store hit when already fetched), extract once, then bring the project's tree up to date. */
export function patchStep(context: StepContext): Promise<{ srcDir: string }> {
  return withProjectLock(context, () => preparePatchedSource(context));
}

export async function preparePatchedSource(context: StepContext): Promise<{ srcDir: string }> {
  const started = Date.now();
  const { project, paths } = resolveStep(context);
  const { tarballPath } = await fetchStep(context);
  const pristineDir = await ensurePristineTree(tarballPath, project.source.sha256, paths.workRoot, { log: context.log });
  const patches = await seriesPatches(context, project, paths);
  const result = await preparePatchedTree({ pristineDir, treeDir: paths.tree, patches, log: context.log });
  claimBuildDir(paths.buildDir, project.source.sha256, context.log);
  context.log(
    `tree ${paths.tree}: ${patches.length} patch(es)` +
      (result.recreated ? ', created from the pristine source' : '') +
      (result.reverted.length ? `, reverted ${result.reverted.join(', ')}` : '') +
      (result.applied.length ? `, applied ${result.applied.join(', ')}` : ', up to date') +
      ` (${((Date.now() - started) / 1000).toFixed(1)}s)`,
  );
  return { srcDir: result.treeDir };
}

/** KBUILD_BUILD_TIMESTAMP from the last commit that touched the project's inputs: same inputs, same kernel. */
export async function buildIdentity(workspaceRoot: string, project: KernelProject): Promise<BuildIdentity & { epoch: number }> {
  const result = await execa('git', ['log', '-1', '--format=%ct', '--', ...inputPaths(project)], { cwd: workspaceRoot, reject: false });
  const fromGit = Number.parseInt(result.stdout.trim(), 10);
  const epoch = Number.isFinite(fromGit) ? fromGit : Number.parseInt(process.env.SOURCE_DATE_EPOCH ?? '0', 10) || 0;
  return { timestamp: new Date(epoch * 1000).toISOString(), user: 'linuxkit', host: 'linuxkit', epoch };
}

function readText(workspaceRoot: string, file: string): { path: string; text: string } {
  return { path: file, text: fs.readFileSync(path.join(workspaceRoot, file), 'utf8') };
}

export function configureStep(context: StepContext): Promise<{ config: string }> {
  return withProjectLock(context, () => configureLocked(context));
}

async function configureLocked(context: StepContext): Promise<{ config: string }> {
  const { project, arch, paths } = resolveStep(context);
  const { srcDir } = await preparePatchedSource(context);
  const toolchain = await detectToolchain(arch);
  const committedPath = `${project.configRoot}/config-${arch}`;
  const finalText = await configureKernel({
    srcDir,
    buildDir: paths.buildDir,
    toolchain,
    committed: readText(context.workspaceRoot, committedPath),
    fragments: project.fragments.map((fragment) => readText(context.workspaceRoot, fragment)),
    localversion: project.localversion,
    fixedPoint: project.fixedPoint,
    regenerateCommand: `nx run ${project.name}:sync-config --arch=${arch}`,
    logFile: path.join(paths.logDir, 'configure.log'),
    identity: await buildIdentity(context.workspaceRoot, project),
    signal: context.signal,
    log: context.log,
  });
  fs.mkdirSync(path.dirname(paths.config), { recursive: true });
  fs.writeFileSync(`${paths.config}.tmp`, finalText);
  fs.renameSync(`${paths.config}.tmp`, paths.config);
  context.log(`config ${arch}: ${paths.config}${project.fixedPoint ? ' (fixed point)' : `, ${project.fragments.length} fragment(s) verified`}`);
  return { config: paths.config };
}

/** Copies the configured .config into the build dir only when it differs, so make keeps its mtimes. */
function syncBuildConfig(paths: WorkPaths): void {
  if (!fs.existsSync(paths.config)) throw new KernelBuildError(`${paths.config} is missing`, 'run the configure target first');
  const wanted = fs.readFileSync(paths.config);
  const current = path.join(paths.buildDir, '.config');
  fs.mkdirSync(paths.buildDir, { recursive: true });
  if (!fs.existsSync(current) || !fs.readFileSync(current).equals(wanted)) fs.writeFileSync(current, wanted);
}

type CompileContext = StepContext & PublishOptions & { jobs?: number; ccache?: boolean; registryCache?: boolean };

export function compileStep(context: CompileContext): Promise<{ release: string; pulled: boolean }> {
  return withProjectLock(context, () => compileLocked(context));
}

async function compileLocked(context: CompileContext): Promise<{ release: string; pulled: boolean }> {
  const { project, arch, paths } = resolveStep(context);
  if (context.registryCache !== false) {
    const pulled = await fetchArtifactsFromRegistry(context, project, arch, paths);
    if (pulled) return { release: pulled.release, pulled: true };
  }
  const { srcDir } = await preparePatchedSource(context);
  const toolchain = await detectToolchain(arch, { useCcache: context.ccache });
  if (!toolchain.ccache) context.log('note: ccache is not used (not installed, or --ccache=false); rebuilds in a fresh build dir recompile everything');
  syncBuildConfig(paths);
  const identity = await buildIdentity(context.workspaceRoot, project);
  const logFile = path.join(paths.logDir, 'compile.log');
  fs.rmSync(logFile, { force: true });
  context.log(`compiling ${project.name} for ${arch} in ${paths.buildDir} (log: ${logFile})`);
  const { durationMs } = await runMake({
    srcDir,
    buildDir: paths.buildDir,
    toolchain,
    targets: ['all'],
    jobs: context.jobs,
    identity,
    ccacheBaseDir: paths.workRoot,
    logFile,
    onProgress: context.log,
    signal: context.signal,
  });
  context.log(`make all: ${(durationMs / 1000).toFixed(1)}s`);
  const collecting = Date.now();
  const metadata = await collectKernelArtifacts({
    srcDir,
    buildDir: paths.buildDir,
    toolchain,
    stageDir: paths.stageDir,
    outDir: paths.artifacts,
    builder: builderReference(toolchain),
    mtime: identity.epoch,
    debug: project.debug,
    logFile,
    identity,
    jobs: context.jobs,
    signal: context.signal,
  });
  context.log(`kernel ${metadata.release} for ${arch}: ${paths.artifacts} (installs, kernel-dev tree and tars: ${((Date.now() - collecting) / 1000).toFixed(1)}s)`);
  return { release: metadata.release, pulled: false };
}

export interface ImageRecord {
  project: string;
  arch: string;
  release: string;
  tags: string[];
  inputHash: string;
  dirty: boolean;
  manifestDigest: string;
  builder: string;
}

export async function packageStep(context: StepContext): Promise<ImageRecord> {
  const { project, arch, paths } = resolveStep(context);
  const metadata = readBuildMetadata(paths.artifacts);
  const { hash, dirty } = await computeInputHash(context.workspaceRoot, project);
  const { plain, hashed } = imageTags(project, dirty ? `${hash}-dirty` : hash);
  const builderFile = path.join(paths.artifacts, '.kernel-builder');
  const file = (name: string) => ({ path: name, source: path.join(paths.artifacts, name) });
  const files = [
    file(ARTIFACT_FILES.kernel),
    file(ARTIFACT_FILES.modules),
    file(ARTIFACT_FILES.headers),
    file(ARTIFACT_FILES.dev),
    file(ARTIFACT_FILES.systemMap),
    { path: 'kernel-builder', source: builderFile },
    ...(project.debug ? [file(ARTIFACT_FILES.vmlinux)] : []),
  ];
  fs.writeFileSync(builderFile, `${metadata.builder}\n`);
  const result = await writeKernelImageLayout({
    layoutDir: paths.layout,
    arch: kernelArchProfile(arch).ociArch,
    files,
    labels: { [BUILDIMAGE_LABEL]: metadata.builder },
    annotations: { 'org.opencontainers.image.version': plain, [RELEASE_ANNOTATION]: metadata.release },
    tags: [plain, hashed],
    created: metadata.mtime,
  }).finally(() => fs.rmSync(builderFile, { force: true }));
  const record: ImageRecord = {
    project: project.name,
    arch,
    release: metadata.release,
    tags: [plain, hashed],
    inputHash: hash,
    dirty,
    manifestDigest: result.manifestDigest,
    builder: metadata.builder,
  };
  await writeFileViaTempSibling(paths.imageRecord, (temp) => fs.promises.writeFile(temp, `${JSON.stringify(record, null, 2)}\n`));
  context.log(`image ${paths.layout}: ${record.tags.join(', ')} (${result.manifestDigest})${dirty ? ' — built from uncommitted inputs, never pushed' : ''}`);
  return record;
}

export function readImageRecord(paths: WorkPaths): ImageRecord {
  if (!fs.existsSync(paths.imageRecord)) throw new KernelBuildError(`${paths.imageRecord} is missing`, 'run the package target first');
  return JSON.parse(fs.readFileSync(paths.imageRecord, 'utf8')) as ImageRecord;
}

/** Where scripts/install-deps.sh unpacks a static busybox for arches other than the host's. */
export const FOREIGN_BUSYBOX_ROOT = '/usr/local/lib/linuxkit-kernels/busybox';

/** The static busybox that goes into the initramfs: the host's for native boots. */
export function busyboxFor(arch: KernelArch, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[`KERNEL_BUSYBOX_${arch.toUpperCase()}`];
  if (override) return override;
  if (arch === hostKernelArch()) return '/bin/busybox';
  const file = path.join(FOREIGN_BUSYBOX_ROOT, arch, 'busybox');
  if (!fs.existsSync(file)) {
    throw new KernelBuildError(`no static busybox for ${arch} at ${file}`, `run scripts/install-deps.sh (it unpacks busybox-static for ${arch}), or set KERNEL_BUSYBOX_${arch.toUpperCase()}`);
  }
  return file;
}

/** Boots the packaged image (its /kernel and /kernel.tar, not the build dir) and checks the console. */
export interface LayoutBoot {
  /** The image layout and tag whose /kernel and /kernel.tar are booted. */
  layout: string;
  tag: string;
  arch: KernelArch;
  workRoot: string;
  /** Names the scratch dir: boot/<name>/<arch>-<pid>. */
  name: string;
  release: string;
  modules: string[];
  commands: string[];
  timeoutSeconds: number;
  logFile: string;
  extraFiles?: { path: string; source: string; mode?: number }[];
  /** A modules tarball to use instead of the image's /kernel.tar (a module image's tree). */
  modulesTar?: string;
  /** More files to take out of other image layouts before booting (e.g. perf). */
  extract?: { layout: string; file: string; as: string }[];
}

/** Boots an image's own /kernel and /kernel.tar (never the build dir's) and checks the console. */
export async function bootFromLayout(boot: LayoutBoot, context: Pick<StepContext, 'env' | 'signal'>): Promise<{ durationMs: number }> {
  const workDir = path.join(boot.workRoot, 'boot', boot.name, `${boot.arch}-${process.pid}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  try {
    const kernel = path.join(workDir, 'kernel');
    const modulesTar = path.join(workDir, 'kernel.tar');
    await extractImageFile(boot.layout, boot.tag, 'kernel', kernel);
    if (boot.modulesTar) fs.copyFileSync(boot.modulesTar, modulesTar);
    else await extractImageFile(boot.layout, boot.tag, 'kernel.tar', modulesTar);
    for (const extra of boot.extract ?? []) await extractImageFile(extra.layout, boot.tag, extra.file, path.join(workDir, extra.as));
    const extraFiles = (boot.extraFiles ?? []).map((file) => ({ ...file, source: path.resolve(workDir, file.source) }));
    const report = await runBootTest({
      arch: boot.arch,
      kernel,
      modulesTar,
      modules: boot.modules,
      commands: boot.commands,
      expectRelease: boot.release,
      timeoutMs: boot.timeoutSeconds * 1000,
      workDir,
      logFile: boot.logFile,
      busybox: busyboxFor(boot.arch, context.env),
      extraFiles,
      signal: context.signal,
    });
    return { durationMs: report.durationMs };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

export async function bootTestStep(context: StepContext & { timeoutSeconds?: number }): Promise<{ bootLog: string; durationMs: number }> {
  const { project, arch, paths } = resolveStep(context);
  const record = readImageRecord(paths);
  const { durationMs } = await bootFromLayout(
    {
      layout: paths.layout,
      tag: record.tags[record.tags.length - 1],
      arch,
      workRoot: paths.workRoot,
      name: project.name,
      release: record.release,
      modules: project.test.modules,
      commands: project.test.commands,
      timeoutSeconds: context.timeoutSeconds ?? project.test.timeoutSeconds,
      logFile: paths.bootLog,
    },
    context,
  );
  context.log(`booted ${record.release} on ${arch} in ${(durationMs / 1000).toFixed(1)}s; modules loaded: ${project.test.modules.join(', ') || 'none asked'}`);
  return { bootLog: paths.bootLog, durationMs };
}
