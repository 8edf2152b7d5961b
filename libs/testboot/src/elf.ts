import { open } from 'fs/promises';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { archProfile, BootArch } from './arch';

export interface ElfFacts {
  /** e_machine: 62 x86_64, 183 aarch64, 243 riscv. */
  machine: number;
  /** Whether it asks for a dynamic loader (PT_INTERP), which an initramfs of busybox alone lacks. */
  dynamic: boolean;
}

const PT_INTERP = 3;

/** Reads the ELF header and program headers at the start of a file; undefined when it is not ELF. */
export function elfFacts(head: Buffer): ElfFacts | undefined {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = head[4] === 2;
  const littleEndian = head[5] === 1;
  const u16 = (at: number) => (littleEndian ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (littleEndian ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const u64 = (at: number) => Number(littleEndian ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at));
  const programHeaderOffset = is64 ? u64(32) : u32(28);
  const programHeaderSize = u16(is64 ? 54 : 42);
  const programHeaderCount = u16(is64 ? 56 : 44);
  let dynamic = false;
  for (let index = 0; index < programHeaderCount; index++) {
    const at = programHeaderOffset + index * programHeaderSize;
    if (at + 4 > head.length) break;
    if (u32(at) === PT_INTERP) dynamic = true;
  }
  return { machine: u16(18), dynamic };
}

/**
 * A busybox built for another architecture, or linked dynamically, makes the kernel panic with
 * "No working init found", which says nothing about the cause; this says it before booting.
 */
export async function assertBusyboxFits(busybox: string, arch: BootArch): Promise<void> {
  const file = await open(busybox, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
  const facts = elfFacts(head);
  const profile = archProfile(arch);
  const fix = `pass a statically linked busybox for ${arch}, e.g. /bin/busybox from Debian's busybox-static:${profile.debianArch} package`;
  if (!facts) throw new KernelBuildError(`${busybox} is not an ELF executable`, fix);
  if (facts.machine !== profile.elfMachine) {
    throw new KernelBuildError(`${busybox} is built for ELF machine ${facts.machine}, not for ${arch} (${profile.elfMachine})`, fix);
  }
  if (facts.dynamic) throw new KernelBuildError(`${busybox} is dynamically linked; the initramfs has no shared libraries`, fix);
}
