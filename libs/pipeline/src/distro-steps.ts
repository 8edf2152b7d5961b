import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { DistroProject, loadDistroProjects } from '@linuxkit-kernels/spec';
import { repackageDistroKernel } from '@linuxkit-kernels/distro';
import { ARTIFACT_FILES, kernelArchProfile, readBuildMetadata } from '@linuxkit-kernels/kbuild';
import { writeKernelImageLayout } from '@linuxkit-kernels/oci';
import { bootFromLayout, BUILDIMAGE_LABEL, StepContext } from './steps';
import { RELEASE_ANNOTATION } from './publish';

function resolveDistro(context: StepContext): { distro: DistroProject; distDir: string; workRoot: string } {
  const distros = loadDistroProjects(context.workspaceRoot);
  const distro = distros.find((candidate) => candidate.name === context.projectName);
  if (!distro) throw new KernelBuildError(`no distro project named ${context.projectName}`, `use one of ${distros.map((d) => d.name).join(', ')}`);
  const workRoot = path.resolve(context.workspaceRoot, (context.env ?? process.env).KERNEL_WORK_DIR || '.kbuild');
  return { distro, distDir: path.join(context.workspaceRoot, 'dist', 'distro', distro.dir), workRoot };
}

/** apt-get download of exact versions, kept between runs (a package once downloaded is not fetched again). */
async function downloadPackages(distro: DistroProject, workRoot: string, log: (line: string) => void): Promise<string[]> {
  const cache = path.join(workRoot, 'distro-debs');
  fs.mkdirSync(cache, { recursive: true });
  const files: string[] = [];
  for (const spec of distro.packages) {
    const [name, version] = spec.split('=');
    const fileName = `${name}_${version.replace(/^\d+:/, '').replace(/:/g, '%3a')}_`;
    let file = fs.readdirSync(cache).find((entry) => entry.startsWith(fileName) && entry.endsWith('.deb'));
    if (!file) {
      log(`apt-get download ${spec}`);
      const result = await execa('apt-get', ['download', spec], { cwd: cache, reject: false });
      if (result.exitCode !== 0) {
        throw new KernelBuildError(`apt cannot download ${spec} (${distro.file})`, 'run apt-get update, or move the versions in distro.yaml to what `apt-cache policy` offers', result.stderr.trim());
      }
      file = fs.readdirSync(cache).find((entry) => entry.startsWith(fileName) && entry.endsWith('.deb'));
      if (!file) throw new KernelBuildError(`apt-get download ${spec} left no .deb in ${cache}`, 'check the package name');
    }
    files.push(path.join(cache, file));
  }
  return files;
}

/** Repackages the distro's kernel packages and writes the image layout tagged with the kernel release. */
export async function distroBuildStep(context: StepContext): Promise<{ release: string }> {
  const { distro, distDir, workRoot } = resolveDistro(context);
  const packages = await downloadPackages(distro, workRoot, context.log);
  const artifacts = path.join(distDir, 'artifacts');
  const { release } = await repackageDistroKernel({ packages, outDir: artifacts, arch: distro.arch, mtime: 0, log: context.log });
  const metadata = readBuildMetadata(artifacts);
  const builderFile = path.join(distDir, 'kernel-builder');
  fs.writeFileSync(builderFile, `${metadata.builder}\n`);
  const file = (name: string) => ({ path: name, source: path.join(artifacts, name) });
  const result = await writeKernelImageLayout({
    layoutDir: path.join(distDir, 'oci'),
    arch: kernelArchProfile(distro.arch).ociArch,
    files: [file(ARTIFACT_FILES.kernel), file(ARTIFACT_FILES.modules), file(ARTIFACT_FILES.headers), file(ARTIFACT_FILES.dev), file(ARTIFACT_FILES.systemMap), { path: 'kernel-builder', source: builderFile }],
    labels: { [BUILDIMAGE_LABEL]: metadata.builder },
    annotations: { [RELEASE_ANNOTATION]: release },
    tags: [release],
    created: metadata.mtime,
  });
  fs.rmSync(builderFile, { force: true });
  context.log(`image ${path.join(distDir, 'oci')}: ${release} (${result.manifestDigest}) from ${distro.packages.join(', ')}`);
  return { release };
}

export async function distroTestStep(context: StepContext): Promise<{ bootLog: string }> {
  const { distro, distDir, workRoot } = resolveDistro(context);
  const release = readBuildMetadata(path.join(distDir, 'artifacts')).release;
  const bootLog = path.join(distDir, 'boot.log');
  await bootFromLayout(
    {
      layout: path.join(distDir, 'oci'),
      tag: release,
      arch: distro.arch,
      workRoot,
      name: distro.name,
      release,
      modules: distro.test.modules,
      commands: [],
      timeoutSeconds: distro.test.timeoutSeconds,
      logFile: bootLog,
    },
    context,
  );
  context.log(`booted ${release} (${distro.name}) on ${distro.arch}; modules loaded: ${distro.test.modules.join(', ') || 'none asked'}`);
  return { bootLog };
}
