import * as fs from 'fs';
import * as path from 'path';
import { buildStaticPerf, detectToolchain, kernelArchProfile, preparePerfSource } from '@linuxkit-kernels/kbuild';
import { writeKernelImageLayout } from '@linuxkit-kernels/oci';
import { bootFromLayout, buildIdentity, preparePatchedSource, readImageRecord, resolveStep, StepContext, withProjectLock } from './steps';

function perfPaths(distDir: string) {
  return { layout: path.join(distDir, 'perf-oci'), record: path.join(distDir, 'perf-image.json'), bootLog: path.join(distDir, 'perf-boot.log') };
}

/**
 * kernel-perf: a static perf from the same patched source, as its own image (/usr/bin/perf) with
 * the tags of the kernel it matches.
 */
export function perfStep(context: StepContext & { jobs?: number }): Promise<{ layout: string }> {
  return withProjectLock(context, () => perfLocked(context));
}

async function perfLocked(context: StepContext & { jobs?: number }): Promise<{ layout: string }> {
  const { project, arch, paths } = resolveStep(context);
  const kernel = readImageRecord(paths);
  const { srcDir } = await preparePatchedSource(context);
  const toolchain = await detectToolchain(arch);
  const perfSrcDir = path.join(paths.workRoot, 'perf-src', project.name);
  await preparePerfSource(srcDir, perfSrcDir, project.version);
  const logFile = path.join(paths.logDir, 'perf.log');
  fs.rmSync(logFile, { force: true });
  context.log(`building a static perf ${project.version} for ${arch} (log: ${logFile})`);
  const identity = await buildIdentity(context.workspaceRoot, project);
  const binary = await buildStaticPerf({ perfSrcDir, outDir: `${paths.buildDir}-perf`, toolchain, logFile, jobs: context.jobs, identity, signal: context.signal });
  const out = perfPaths(paths.distDir);
  const result = await writeKernelImageLayout({
    layoutDir: out.layout,
    arch: kernelArchProfile(arch).ociArch,
    files: [{ path: 'usr/bin/perf', source: binary, mode: 0o755 }],
    labels: { 'org.mobyproject.linuxkit.kernel.perf': kernel.release },
    tags: kernel.tags,
    created: identity.epoch,
  });
  fs.writeFileSync(out.record, `${JSON.stringify({ ...kernel, project: `${project.name}-perf`, manifestDigest: result.manifestDigest }, null, 2)}\n`);
  context.log(`kernel-perf image ${out.layout}: ${kernel.tags.join(', ')} (${result.manifestDigest})`);
  return { layout: out.layout };
}

/** Boots the kernel with the perf image's /usr/bin/perf and runs perf inside the VM. */
export async function perfTestStep(context: StepContext): Promise<{ bootLog: string }> {
  const { project, arch, paths } = resolveStep(context);
  const kernel = readImageRecord(paths);
  const out = perfPaths(paths.distDir);
  await bootFromLayout(
    {
      layout: paths.layout,
      tag: kernel.tags[kernel.tags.length - 1],
      arch,
      workRoot: paths.workRoot,
      name: `${project.name}-perf`,
      release: kernel.release,
      modules: [],
      commands: ['/usr/bin/perf --version', '/usr/bin/perf stat -e task-clock -- /bin/busybox true'],
      timeoutSeconds: project.test.timeoutSeconds,
      logFile: out.bootLog,
      extract: [{ layout: out.layout, file: 'usr/bin/perf', as: 'perf' }],
      extraFiles: [{ path: 'usr/bin/perf', source: 'perf', mode: 0o755 }],
    },
    context,
  );
  context.log(`perf runs in ${kernel.release} on ${arch}: perf --version and perf stat passed (${out.bootLog})`);
  return { bootLog: out.bootLog };
}
