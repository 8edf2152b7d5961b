import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { replaceDirectoryAtomically } from '@linuxkit-kernels/oci';
import { BuildIdentity, runMake } from './make';
import { Toolchain } from './toolchain';

/** The compiler line recorded in /kernel-builder (`toolchain:<arch>:<gcc --version>;<ld --version>`). */
export function recordedCompiler(builder: string): string | undefined {
  const match = /^toolchain:[^:]+:([^;]*);/.exec(builder);
  return match?.[1];
}

/** Modules must be built by the compiler that built the kernel: a different one risks an ABI mismatch. */
export function assertSameCompiler(builder: string, toolchain: Toolchain): void {
  const recorded = recordedCompiler(builder);
  if (recorded === undefined) return; // built elsewhere (a distro kernel, a container image): nothing to compare
  if (recorded !== toolchain.gccVersion) {
    throw new KernelBuildError(
      `the kernel was built with '${recorded}', but this machine's ${toolchain.gcc} is '${toolchain.gccVersion}'`,
      'build the module with the compiler recorded in /kernel-builder (the kernel image\'s builder), or rebuild the kernel with this one',
    );
  }
}

/** vermagic of a .ko starts with the release it was built for: refuse a module for another kernel. */
export async function assertModuleMatchesRelease(koFile: string, release: string, fix = `rebuild it against ${release}'s kernel-dev.tar`): Promise<void> {
  if (!fs.existsSync(koFile)) throw new KernelBuildError(`${koFile} does not exist`, fix);
  const result = await execa('/sbin/modinfo', ['-F', 'vermagic', koFile], { reject: false });
  if (result.exitCode !== 0) throw new KernelBuildError(`${koFile} is not a kernel module (modinfo cannot read it)`, fix, result.stderr.trim() || undefined);
  const built = result.stdout.trim().split(/\s+/)[0];
  if (built !== release) {
    throw new KernelBuildError(`${koFile} was built for kernel ${built || '(unknown)'}, not ${release}`, fix);
  }
}

export interface ExternalModuleBuild {
  /** usr/src/linux-headers-<release> unpacked from kernel-dev.tar. */
  headersDir: string;
  /** A scratch copy of the module source: kbuild writes objects next to the sources. */
  moduleDir: string;
  /** Where the user edits the module's source (shown instead of the scratch copy in errors). */
  sourceLabel?: string;
  toolchain: Toolchain;
  release: string;
  expected: string[];
  outDir: string;
  logFile: string;
  identity?: BuildIdentity;
  signal?: AbortSignal;
}

/** make M=<module> modules against a headers tree; copies the expected .ko files to outDir. */
export async function buildExternalModules(build: ExternalModuleBuild): Promise<string[]> {
  try {
    await runMake({
      srcDir: build.headersDir,
      toolchain: build.toolchain,
      targets: ['modules'],
      variables: { M: path.resolve(build.moduleDir) },
      identity: build.identity,
      logFile: build.logFile,
      signal: build.signal,
    });
  } catch (error) {
    if (error instanceof KernelBuildError) {
      // The compiler names the scratch copy; point at the source the user edits.
      const label = build.sourceLabel ?? build.moduleDir;
      const details = error.details?.split(path.resolve(build.moduleDir)).join(label);
      throw new KernelBuildError(`the module in ${label} does not compile against ${build.release}`, `fix the compiler error above in ${label}; ${error.fix}`, details);
    }
    throw error;
  }
  return replaceDirectoryAtomically(build.outDir, async (tmpOut) => {
    const built: string[] = [];
    for (const name of build.expected) {
      const ko = path.join(build.moduleDir, `${name}.ko`);
      if (!fs.existsSync(ko)) throw new KernelBuildError(`make did not produce ${name}.ko in ${build.moduleDir}`, 'check obj-m in the Kbuild file and the modules list in module.yaml');
      await assertModuleMatchesRelease(ko, build.release);
      fs.copyFileSync(ko, path.join(tmpOut, `${name}.ko`));
      built.push(`${name}.ko`);
    }
    return built;
  });
}
