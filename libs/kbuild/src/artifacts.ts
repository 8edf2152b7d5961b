import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { replaceDirectoryAtomically, writeReproducibleTar } from '@linuxkit-kernels/oci';
import { kernelArchProfile } from './arch';
import { BuildIdentity, runMake } from './make';
import { Toolchain } from './toolchain';

/** The files of a LinuxKit kernel image, as compile leaves them for package. */
export const ARTIFACT_FILES = {
  kernel: 'kernel',
  systemMap: 'System.map',
  modules: 'kernel.tar',
  headers: 'kernel-headers.tar',
  dev: 'kernel-dev.tar',
  vmlinux: 'vmlinux',
  config: 'config',
  metadata: 'build.json',
} as const;

export interface BuildMetadata {
  release: string;
  arch: string;
  builder: string;
  mtime: number;
}

export interface CollectRequest {
  srcDir: string;
  buildDir: string;
  toolchain: Toolchain;
  /** Scratch space for modules_install/headers_install, removed afterwards. */
  stageDir: string;
  /** Where the artifacts land (the compile target's output directory). */
  outDir: string;
  builder: string;
  /** Clamp for every mtime in the tars (reproducible builds). */
  mtime: number;
  debug: boolean;
  logFile: string;
  identity?: BuildIdentity;
  jobs?: number;
  signal?: AbortSignal;
}

export function kernelRelease(buildDir: string): string {
  const file = path.join(buildDir, 'include/config/kernel.release');
  if (!fs.existsSync(file)) throw new KernelBuildError(`${file} is missing: the kernel was not built in ${buildDir}`, 'run the compile target first');
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * Source files an out-of-tree module build reads: every Makefile/Kconfig/Kbuild, the headers, the
 * scripts and the linker scripts. Paths are relative to the tree.
 */
async function devSourceFiles(srcDir: string, karch: string): Promise<string[]> {
  const { stdout } = await execa(
    'find',
    ['.', '(', '-name', 'Makefile*', '-o', '-name', 'Kconfig*', '-o', '-name', 'Kbuild*', '-o', '-name', '*.lds', '-o', '-name', '*.lds.S', ')', '-type', 'f'],
    { cwd: srcDir, maxBuffer: 256 * 1024 * 1024 },
  );
  const wanted = stdout.split('\n').filter((file) => file && !file.startsWith('./Documentation/') && !file.startsWith('./tools/testing/'));
  const dirs = ['include', 'scripts', `arch/${karch}/include`, 'tools/include'];
  return [...wanted, ...dirs.filter((dir) => fs.existsSync(path.join(srcDir, dir))).map((dir) => `./${dir}`)];
}

/** Generated files from O= that complete the headers tree: config, symbols, generated headers, host tools. */
function devBuildFiles(buildDir: string, karch: string): string[] {
  const candidates = [
    '.config',
    'Module.symvers',
    'include/config',
    'include/generated',
    `arch/${karch}/include/generated`,
    'scripts',
    'tools/objtool/objtool',
    'tools/bpf/resolve_btfids/resolve_btfids',
  ];
  return candidates.filter((file) => fs.existsSync(path.join(buildDir, file))).map((file) => `./${file}`);
}

async function copyTree(fromDir: string, files: string[], toDir: string): Promise<void> {
  fs.mkdirSync(toDir, { recursive: true });
  // cp --parents keeps the relative layout; -a keeps modes and symlinks.
  const batch = 2000;
  for (let index = 0; index < files.length; index += batch) {
    await execa('cp', ['-a', '--parents', ...files.slice(index, index + batch), toDir], { cwd: fromDir });
  }
}

/**
 * After `make all`: installs modules, headers and (arm64/riscv) device trees into a stage dir and
 * writes the image's files into outDir: kernel, System.map, kernel.tar, kernel-headers.tar,
 * kernel-dev.tar (and vmlinux for debug variants), plus build.json.
 */
export async function collectKernelArtifacts(request: CollectRequest): Promise<BuildMetadata> {
  const profile = kernelArchProfile(request.toolchain.arch);
  const release = kernelRelease(request.buildDir);
  fs.rmSync(request.stageDir, { recursive: true, force: true });
  const modulesRoot = path.join(request.stageDir, 'modules');
  const headersRoot = path.join(request.stageDir, 'headers');
  const devRoot = path.join(request.stageDir, 'dev');
  const make = (targets: string[], variables: Record<string, string>) =>
    runMake({
      srcDir: request.srcDir,
      buildDir: request.buildDir,
      toolchain: request.toolchain,
      targets,
      variables,
      jobs: request.jobs,
      identity: request.identity,
      logFile: request.logFile,
      signal: request.signal,
    });

  await make(['modules_install'], { INSTALL_MOD_PATH: modulesRoot, DEPMOD: '/sbin/depmod' });
  if (profile.installDtbs) await make(['dtbs_install'], { INSTALL_DTBS_PATH: path.join(modulesRoot, 'boot/dtb') });
  await make(['headers_install'], { INSTALL_HDR_PATH: path.join(headersRoot, 'usr') });

  const headersName = `linux-headers-${release}`;
  const moduleDir = path.join(modulesRoot, 'lib/modules', release);
  fs.mkdirSync(moduleDir, { recursive: true });
  for (const link of ['build', 'source']) fs.rmSync(path.join(moduleDir, link), { force: true });
  fs.symlinkSync(`/usr/src/${headersName}`, path.join(moduleDir, 'build'));

  const devTree = path.join(devRoot, 'usr/src', headersName);
  await copyTree(request.srcDir, await devSourceFiles(request.srcDir, profile.karch), devTree);
  await copyTree(request.buildDir, devBuildFiles(request.buildDir, profile.karch), devTree);

  // Built aside and swapped in whole: an interrupted run leaves the previous artifacts or none, never a mix.
  const metadata = await replaceDirectoryAtomically(request.outDir, async (tmpOut) => {
    const tar = (cwd: string, paths: string[], file: string) => writeReproducibleTar({ cwd, paths, outFile: path.join(tmpOut, file), mtime: request.mtime });
    await tar(modulesRoot, fs.readdirSync(modulesRoot).sort(), ARTIFACT_FILES.modules);
    await tar(headersRoot, ['usr'], ARTIFACT_FILES.headers);
    await tar(devRoot, ['usr'], ARTIFACT_FILES.dev);
    fs.copyFileSync(path.join(request.buildDir, profile.bootImage), path.join(tmpOut, ARTIFACT_FILES.kernel));
    fs.copyFileSync(path.join(request.buildDir, 'System.map'), path.join(tmpOut, ARTIFACT_FILES.systemMap));
    fs.copyFileSync(path.join(request.buildDir, '.config'), path.join(tmpOut, ARTIFACT_FILES.config));
    if (request.debug) fs.copyFileSync(path.join(request.buildDir, 'vmlinux'), path.join(tmpOut, ARTIFACT_FILES.vmlinux));
    const built: BuildMetadata = { release, arch: request.toolchain.arch, builder: request.builder, mtime: request.mtime };
    fs.writeFileSync(path.join(tmpOut, ARTIFACT_FILES.metadata), `${JSON.stringify(built, null, 2)}\n`);
    return built;
  });
  fs.rmSync(request.stageDir, { recursive: true, force: true });
  return metadata;
}

export function readBuildMetadata(outDir: string): BuildMetadata {
  const file = path.join(outDir, ARTIFACT_FILES.metadata);
  if (!fs.existsSync(file)) throw new KernelBuildError(`${file} is missing`, 'run the compile target first');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BuildMetadata;
}
