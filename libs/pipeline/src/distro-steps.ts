import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { DistroProject, loadDistroProjects } from '@linuxkit-kernels/spec';
import { repackageDistroKernel } from '@linuxkit-kernels/distro';
import { cachedDebPackage } from '@linuxkit-kernels/source';
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

/** Repackages the distro's kernel packages and writes the image layout tagged with the kernel release. */
export async function distroBuildStep(context: StepContext): Promise<{ release: string }> {
  const { distro, distDir, workRoot } = resolveDistro(context);
  const packages: string[] = [];
  for (const spec of distro.packages) packages.push(await cachedDebPackage(spec, path.join(workRoot, 'debs'), { log: context.log, signal: context.signal }));
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
