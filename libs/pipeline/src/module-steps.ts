import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { loadKernelProjects, loadModuleProjects, ModuleProject } from '@linuxkit-kernels/spec';
import { assertModuleMatchesRelease, assertSameCompiler, buildExternalModules, detectToolchain, hostKernelArch, KernelArch } from '@linuxkit-kernels/kbuild';
import { extractImageFile, writeKernelImageLayout, writeReproducibleTar } from '@linuxkit-kernels/oci';
import { cachedDebPackage, extractFileFromDeb } from '@linuxkit-kernels/source';
import { kernelArchProfile } from '@linuxkit-kernels/kbuild';
import { bootFromLayout, readImageRecord, StepContext } from './steps';
import { workPaths } from './work-paths';

function resolveModule(context: StepContext): { module: ModuleProject; arch: KernelArch } {
  const kernels = loadKernelProjects(context.workspaceRoot);
  const modules = loadModuleProjects(context.workspaceRoot, kernels.map((kernel) => kernel.dir));
  const module = modules.find((candidate) => candidate.name === context.projectName);
  if (!module) throw new KernelBuildError(`no module project named ${context.projectName}`, `use one of ${modules.map((m) => m.name).join(', ')}`);
  return { module, arch: (context.arch ?? hostKernelArch()) as KernelArch };
}

function moduleKernelPaths(context: StepContext, module: ModuleProject, arch: string) {
  const kernel = loadKernelProjects(context.workspaceRoot).find((candidate) => candidate.dir === module.kernel);
  if (!kernel) throw new KernelBuildError(`${module.file}: kernel ${module.kernel} is gone`, 'fix the kernel field');
  return { kernel, paths: workPaths(context.workspaceRoot, kernel, arch, context.env) };
}

export function moduleDistDir(workspaceRoot: string, module: Pick<ModuleProject, 'dir'>, arch: string): string {
  return path.join(workspaceRoot, 'dist/modules', module.dir, arch);
}

/**
 * Unpacks the image's /kernel-dev.tar once per image digest and returns the headers tree: the only
 * thing an out-of-tree module build may see of the kernel.
 */
async function unpackKernelDev(layout: string, tag: string, digest: string, release: string, workRoot: string): Promise<string> {
  const root = path.join(workRoot, 'kernel-dev', digest.replace(/^sha256:/, ''));
  const headersDir = path.join(root, 'usr/src', `linux-headers-${release}`);
  if (fs.existsSync(path.join(root, '.complete'))) return headersDir;
  const tmp = `${root}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const tarFile = path.join(tmp, 'kernel-dev.tar');
  await extractImageFile(layout, tag, 'kernel-dev.tar', tarFile);
  await execa('tar', ['-xf', tarFile, '-C', tmp, '--no-same-owner']);
  fs.rmSync(tarFile);
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  return headersDir;
}

/** The module's source: a dir of the workspace, or a directory inside a Debian package (a -dkms one). */
async function copyModuleSource(context: StepContext, module: ModuleProject, workRoot: string, moduleDir: string): Promise<void> {
  if (!module.aptSource) {
    fs.cpSync(path.join(context.workspaceRoot, module.sourceDir), moduleDir, { recursive: true });
    return;
  }
  const deb = await cachedDebPackage(module.aptSource.apt, path.join(workRoot, 'debs'), { log: context.log, signal: context.signal });
  const unpacked = `${moduleDir}.deb`;
  fs.rmSync(unpacked, { recursive: true, force: true });
  fs.mkdirSync(unpacked, { recursive: true });
  await execa('dpkg-deb', ['-x', deb, unpacked]);
  const source = path.join(unpacked, module.aptSource.dir);
  if (!fs.existsSync(source)) throw new KernelBuildError(`${module.aptSource.apt} has no ${module.aptSource.dir}`, `set source.dir in ${module.file} to the module's directory in the package (dpkg-deb -c shows it)`);
  fs.cpSync(source, moduleDir, { recursive: true });
  fs.rmSync(unpacked, { recursive: true, force: true });
}

function moduleImagePaths(outDir: string) {
  return { layout: `${outDir}-image`, modulesTar: `${outDir}-modules.tar` };
}

/**
 * Like LinuxKit's zfs-kmod image: the kernel's own modules plus these under extra/, with depmod
 * run over all of them so modprobe finds them by name. Written as an image layout and as a
 * kernel.tar-style tarball (what the boot test and `linuxkit build` consume).
 */
async function writeModuleImage(
  context: StepContext,
  module: ModuleProject,
  arch: KernelArch,
  paths: ReturnType<typeof workPaths>,
  record: ReturnType<typeof readImageRecord>,
  outDir: string,
): Promise<void> {
  const stage = path.join(paths.workRoot, 'modules', module.name, `${arch}-image-${process.pid}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  try {
    const kernelTar = path.join(stage, 'kernel.tar');
    await extractImageFile(paths.layout, record.tags[record.tags.length - 1], 'kernel.tar', kernelTar);
    const root = path.join(stage, 'root');
    fs.mkdirSync(root);
    await execa('tar', ['-xf', kernelTar, '-C', root, '--no-same-owner']);
    const extra = path.join(root, 'lib/modules', record.release, 'extra');
    fs.mkdirSync(extra, { recursive: true });
    for (const name of module.modules) fs.copyFileSync(path.join(outDir, `${name}.ko`), path.join(extra, `${name}.ko`));
    await execa('/sbin/depmod', ['-b', root, record.release]);
    const image = moduleImagePaths(outDir);
    await writeReproducibleTar({ cwd: root, paths: ['lib'], outFile: image.modulesTar, mtime: 0 });
    const files = (await execa('find', ['lib', '-type', 'f'], { cwd: root })).stdout
      .split('\n')
      .filter(Boolean)
      .sort()
      .map((file) => ({ path: file, source: path.join(root, file) }));
    const result = await writeKernelImageLayout({
      layoutDir: image.layout,
      arch: kernelArchProfile(arch).ociArch,
      files,
      labels: { 'org.mobyproject.linuxkit.kernel.release': record.release },
      tags: record.tags,
      created: 0,
    });
    context.log(`module image ${image.layout}: ${record.release} modules + extra/${module.modules.join(', extra/')}, depmod run (${result.manifestDigest})`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** The kmod step: compile a module source dir against the kernel image's kernel-dev.tar. */
export async function moduleBuildStep(context: StepContext): Promise<{ modules: string[]; outDir: string }> {
  const { module, arch } = resolveModule(context);
  const { kernel, paths } = moduleKernelPaths(context, module, arch);
  const record = readImageRecord(paths);
  const toolchain = await detectToolchain(arch);
  assertSameCompiler(record.builder, toolchain);
  const tag = record.tags[record.tags.length - 1];
  const headersDir = await unpackKernelDev(paths.layout, tag, record.manifestDigest, record.release, paths.workRoot);
  const moduleDir = path.join(paths.workRoot, 'modules', module.name, `${arch}-${process.pid}`);
  fs.rmSync(moduleDir, { recursive: true, force: true });
  const outDir = moduleDistDir(context.workspaceRoot, module, arch);
  let built: string[];
  try {
    await copyModuleSource(context, module, paths.workRoot, moduleDir);
    context.log(`building ${module.modules.join(', ')} for ${kernel.name} ${record.release} (${arch}) against kernel-dev.tar`);
    built = await buildExternalModules({
      headersDir,
      moduleDir,
      sourceLabel: module.aptSource ? `${module.aptSource.apt}:${module.aptSource.dir}` : module.sourceDir,
      toolchain,
      release: record.release,
      expected: module.modules,
      outDir,
      logFile: path.join(paths.logDir, `module-${module.dir}.log`),
      signal: context.signal,
    });
  } finally {
    fs.rmSync(moduleDir, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(outDir, 'module.json'), `${JSON.stringify({ kernel: kernel.name, release: record.release, arch, modules: built }, null, 2)}\n`);
  context.log(`built ${built.join(', ')} into ${outDir}`);
  if (module.image) await writeModuleImage(context, module, arch, paths, record, outDir);
  return { modules: built, outDir };
}

/** Boots the module's kernel image, insmods the built modules and looks for the expected dmesg line. */
export async function moduleTestStep(context: StepContext): Promise<{ bootLog: string }> {
  const { module, arch } = resolveModule(context);
  const { kernel, paths } = moduleKernelPaths(context, module, arch);
  const record = readImageRecord(paths);
  const outDir = moduleDistDir(context.workspaceRoot, module, arch);
  // Never boot a module built for another kernel (one rebuilt since, or another variant's).
  for (const name of module.modules) await assertModuleMatchesRelease(path.join(outDir, `${name}.ko`), record.release, `run nx run ${context.projectName}:build --arch=${arch}`);
  const expectLine = module.test.expect ? [`dmesg | grep -F ${JSON.stringify(module.test.expect)}`] : [];
  const bootLog = `${outDir}-boot.log`;
  await bootFromLayout(
    {
      layout: paths.layout,
      tag: record.tags[record.tags.length - 1],
      arch,
      workRoot: paths.workRoot,
      name: module.name,
      release: record.release,
      // With a module image, its depmod'ed tree replaces the kernel's and modprobe finds the modules by name.
      modules: module.image ? module.modules : [],
      modulesTar: module.image ? moduleImagePaths(outDir).modulesTar : undefined,
      commands: [...(module.image ? [] : module.modules.map((name) => `insmod /extra/${name}.ko`)), ...expectLine],
      timeoutSeconds: module.test.timeoutSeconds,
      logFile: bootLog,
      extraFiles: module.image ? [] : module.modules.map((name) => ({ path: `extra/${name}.ko`, source: path.join(outDir, `${name}.ko`) })),
    },
    context,
  );
  context.log(`${kernel.name} ${record.release} on ${arch}: ${module.image ? 'modprobed' : 'inserted'} ${module.modules.join(', ')}${module.test.expect ? `, dmesg shows "${module.test.expect}"` : ''}`);
  return { bootLog };
}
