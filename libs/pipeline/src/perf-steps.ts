import * as fs from 'fs';
import * as path from 'path';
import { buildStaticPerf, detectToolchain, kernelArchProfile, preparePerfSource } from '@linuxkit-kernels/kbuild';
import { extractImageFile, writeKernelImageLayout } from '@linuxkit-kernels/oci';
import { runBootTest } from '@linuxkit-kernels/testboot';
import { buildIdentity, busyboxFor, preparePatchedSource, readImageRecord, resolveStep, StepContext, withProjectLock } from './steps';

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
  const workDir = path.join(paths.workRoot, 'boot', `${project.name}-perf`, `${arch}-${process.pid}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  const tag = kernel.tags[kernel.tags.length - 1];
  const files = { kernel: path.join(workDir, 'kernel'), modules: path.join(workDir, 'kernel.tar'), perf: path.join(workDir, 'perf') };
  await extractImageFile(paths.layout, tag, 'kernel', files.kernel);
  await extractImageFile(paths.layout, tag, 'kernel.tar', files.modules);
  await extractImageFile(out.layout, tag, 'usr/bin/perf', files.perf);
  await runBootTest({
    arch,
    kernel: files.kernel,
    modulesTar: files.modules,
    modules: [],
    commands: ['/usr/bin/perf --version', '/usr/bin/perf stat -e task-clock -- /bin/busybox true'],
    expectRelease: kernel.release,
    timeoutMs: project.test.timeoutSeconds * 1000,
    workDir,
    logFile: out.bootLog,
    busybox: busyboxFor(arch, context.env),
    extraFiles: [{ path: 'usr/bin/perf', source: files.perf, mode: 0o755 }],
    signal: context.signal,
  });
  context.log(`perf runs in ${kernel.release} on ${arch}: perf --version and perf stat passed (${out.bootLog})`);
  fs.rmSync(workDir, { recursive: true, force: true });
  return { bootLog: out.bootLog };
}
