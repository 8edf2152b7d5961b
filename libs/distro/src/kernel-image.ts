import { DistroArch } from './repackage-plan';

export type KernelImageFormat = 'bzImage' | 'Image' | 'Image.gz' | 'EFI zboot';

/** How many leading bytes `kernelImageFormat` needs. */
export const KERNEL_IMAGE_HEAD_SIZE = 0x240;

function matches(head: Buffer, offset: number, magic: string | number[]): boolean {
  const bytes = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return head.subarray(offset, offset + bytes.length).equals(bytes);
}

/**
 * Which boot image the bytes start like (Documentation/arch/x86/boot.rst: "HdrS" at 0x202;
 * arm64/booting.rst: "ARM\x64" at 0x38; EFI zboot: "zimg" at 4; or a gzip stream), or undefined.
 */
export function kernelImageFormat(head: Buffer): KernelImageFormat | undefined {
  if (matches(head, 0x202, 'HdrS')) return 'bzImage';
  if (matches(head, 0x38, 'ARM\x64')) return 'Image';
  if (matches(head, 0, 'MZ') && matches(head, 4, 'zimg')) return 'EFI zboot';
  if (matches(head, 0, [0x1f, 0x8b])) return 'Image.gz';
  return undefined;
}

/** The formats a LinuxKit image may carry as /kernel for the arch. */
export const BOOTABLE_FORMATS: Record<DistroArch, KernelImageFormat[]> = {
  x86_64: ['bzImage'],
  aarch64: ['Image', 'Image.gz', 'EFI zboot'],
};
