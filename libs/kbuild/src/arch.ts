import { KernelBuildError } from '@linuxkit-kernels/errors';

export type KernelArch = 'x86_64' | 'aarch64' | 'riscv64';

/** How each architecture is named by kbuild, GNU toolchains, Debian and OCI. */
export interface ArchProfile {
  /** ARCH= for make. */
  karch: string;
  /** Prefix of the Debian cross toolchain, e.g. aarch64-linux-gnu-. */
  crossPrefix: string;
  /** Debian package that provides the cross compiler. */
  crossPackage: string;
  /** The file make leaves in O= that becomes /kernel. */
  bootImage: string;
  /** OCI platform architecture. */
  ociArch: 'amd64' | 'arm64' | 'riscv64';
  installDtbs: boolean;
}

const PROFILES: Record<KernelArch, ArchProfile> = {
  x86_64: { karch: 'x86', crossPrefix: 'x86_64-linux-gnu-', crossPackage: 'gcc-x86-64-linux-gnu', bootImage: 'arch/x86/boot/bzImage', ociArch: 'amd64', installDtbs: false },
  aarch64: { karch: 'arm64', crossPrefix: 'aarch64-linux-gnu-', crossPackage: 'gcc-aarch64-linux-gnu', bootImage: 'arch/arm64/boot/Image.gz', ociArch: 'arm64', installDtbs: true },
  riscv64: { karch: 'riscv', crossPrefix: 'riscv64-linux-gnu-', crossPackage: 'gcc-riscv64-linux-gnu', bootImage: 'arch/riscv/boot/Image.gz', ociArch: 'riscv64', installDtbs: true },
};

export const KERNEL_ARCHES = Object.keys(PROFILES) as KernelArch[];

export function kernelArchProfile(arch: string): ArchProfile {
  if (!Object.prototype.hasOwnProperty.call(PROFILES, arch)) {
    throw new KernelBuildError(`unknown arch '${arch}'`, `use one of ${KERNEL_ARCHES.join(', ')} (e.g. --arch=aarch64)`);
  }
  return PROFILES[arch as KernelArch];
}

export function hostKernelArch(): KernelArch {
  const byNodeArch: Record<string, KernelArch> = { x64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64' };
  const arch = byNodeArch[process.arch];
  if (!arch) throw new KernelBuildError(`host architecture '${process.arch}' is not supported`, `build on one of ${KERNEL_ARCHES.join(', ')}`);
  return arch;
}

/** CROSS_COMPILE for building `arch` on this host: empty when native. */
export function crossCompilePrefix(arch: KernelArch, host: KernelArch = hostKernelArch()): string {
  return arch === host ? '' : PROFILES[arch].crossPrefix;
}
