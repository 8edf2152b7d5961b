import { KernelBuildError } from '@linuxkit-kernels/errors';

export type BootArch = 'x86_64' | 'aarch64' | 'riscv64';

/** How each architecture is named by QEMU, Debian and the kernel's serial console. */
export interface ArchProfile {
  qemuBinary: string;
  machineArgs: string[];
  console: string;
  debianArch: string;
  /** The Debian package that ships qemuBinary, named when the binary is missing. */
  qemuPackage: string;
  /** ELF e_machine of this architecture's binaries, to check a busybox fits the guest. */
  elfMachine: number;
}

const ARCH_PROFILES: Record<BootArch, ArchProfile> = {
  x86_64: {
    qemuBinary: 'qemu-system-x86_64',
    machineArgs: [],
    console: 'ttyS0',
    debianArch: 'amd64',
    qemuPackage: 'qemu-system-x86',
    elfMachine: 62,
  },
  aarch64: {
    qemuBinary: 'qemu-system-aarch64',
    machineArgs: ['-M', 'virt', '-cpu', 'cortex-a57'],
    console: 'ttyAMA0',
    debianArch: 'arm64',
    qemuPackage: 'qemu-system-arm',
    elfMachine: 183,
  },
  riscv64: {
    qemuBinary: 'qemu-system-riscv64',
    machineArgs: ['-M', 'virt', '-bios', 'default'],
    console: 'ttyS0',
    debianArch: 'riscv64',
    qemuPackage: 'qemu-system-misc',
    elfMachine: 243,
  },
};

export function archProfile(arch: string): ArchProfile {
  if (!Object.prototype.hasOwnProperty.call(ARCH_PROFILES, arch)) {
    throw new KernelBuildError(
      `unsupported boot architecture '${arch}'`,
      `use one of ${Object.keys(ARCH_PROFILES).join(', ')}`,
    );
  }
  return ARCH_PROFILES[arch as BootArch];
}

/** The architecture of the machine running this code, in kernel/QEMU naming. */
export function hostArch(): BootArch {
  const byNodeArch: Record<string, BootArch> = { x64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64' };
  const arch = byNodeArch[process.arch];
  if (!arch) {
    throw new KernelBuildError(`host architecture '${process.arch}' cannot run boot tests`, 'run them on an x86_64, aarch64 or riscv64 machine');
  }
  return arch;
}
