import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { crossCompilePrefix, KernelArch, kernelArchProfile } from './arch';

export interface Toolchain {
  arch: KernelArch;
  /** CROSS_COMPILE value ('' when native). */
  crossCompile: string;
  gcc: string;
  /** First line of `gcc --version`, e.g. gcc (Debian 12.2.0-14+deb12u1) 12.2.0 */
  gccVersion: string;
  /** First line of `ld --version`. */
  binutilsVersion: string;
  /** ccache on PATH: used as the compiler launcher. */
  ccache: boolean;
}

async function firstLine(command: string, args: string[]): Promise<string | undefined> {
  const result = await execa(command, args, { reject: false });
  if (result.exitCode !== 0 || (result as { failed?: boolean }).failed) return undefined;
  return result.stdout.split('\n')[0].trim();
}

/** Finds the compiler and binutils for `arch`, naming the Debian package when they are missing. */
export async function detectToolchain(arch: KernelArch, options: { useCcache?: boolean } = {}): Promise<Toolchain> {
  const profile = kernelArchProfile(arch);
  const crossCompile = crossCompilePrefix(arch);
  const gcc = `${crossCompile}gcc`;
  const gccVersion = await firstLine(gcc, ['--version']);
  const binutilsVersion = await firstLine(`${crossCompile}ld`, ['--version']);
  if (!gccVersion || !binutilsVersion) {
    const pkg = crossCompile ? `${profile.crossPackage} binutils-${crossCompile.slice(0, -1)}` : 'build-essential';
    throw new KernelBuildError(
      `no ${crossCompile ? `cross ` : ''}toolchain for ${arch}: ${gccVersion ? `${crossCompile}ld` : gcc} not found on PATH`,
      `install it: apt-get install ${pkg}`,
    );
  }
  const ccache = options.useCcache !== false && (await firstLine('ccache', ['--version'])) !== undefined;
  return { arch, crossCompile, gcc, gccVersion, binutilsVersion, ccache };
}

/** What /kernel-builder and the buildimage label say: the exact compiler and binutils. */
export function builderReference(toolchain: Toolchain): string {
  return `toolchain:${toolchain.arch}:${toolchain.gccVersion};${toolchain.binutilsVersion}`;
}
