import { kernelImageFormat } from './kernel-image';

function imageWith(offset: number, magic: string | number[]): Buffer {
  const head = Buffer.alloc(0x240);
  Buffer.from(typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic).copy(head, offset);
  return head;
}

describe('kernelImageFormat', () => {
  it('recognises the boot images LinuxKit carries as /kernel', () => {
    expect(kernelImageFormat(imageWith(0x202, 'HdrS'))).toBe('bzImage');
    expect(kernelImageFormat(imageWith(0x38, 'ARM\x64'))).toBe('Image');
    const zboot = imageWith(0, 'MZ');
    zboot.write('zimg', 4, 'latin1');
    expect(kernelImageFormat(zboot)).toBe('EFI zboot');
    expect(kernelImageFormat(imageWith(0, [0x1f, 0x8b, 0x08]))).toBe('Image.gz');
  });

  it('gives undefined for anything else, including a short file', () => {
    expect(kernelImageFormat(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
    expect(kernelImageFormat(Buffer.alloc(0))).toBeUndefined();
  });
});
