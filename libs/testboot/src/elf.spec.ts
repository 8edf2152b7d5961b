import { readFile } from 'fs/promises';
import { elfFacts } from './elf';

function elfHeader(options: { machine: number; programTypes: number[] }): Buffer {
  const programHeaderOffset = 64;
  const head = Buffer.alloc(programHeaderOffset + options.programTypes.length * 56);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2; // 64-bit
  head[5] = 1; // little-endian
  head.writeUInt16LE(options.machine, 18);
  head.writeBigUInt64LE(BigInt(programHeaderOffset), 32);
  head.writeUInt16LE(56, 54);
  head.writeUInt16LE(options.programTypes.length, 56);
  options.programTypes.forEach((type, index) => head.writeUInt32LE(type, programHeaderOffset + index * 56));
  return head;
}

describe('elfFacts', () => {
  it("reads the machine of Debian's static busybox and sees no loader", async () => {
    expect(elfFacts(await readFile('/bin/busybox'))).toEqual({ machine: 62, dynamic: false });
  });

  it('sees a dynamic loader request (PT_INTERP)', () => {
    expect(elfFacts(elfHeader({ machine: 183, programTypes: [6, 3, 1] }))).toEqual({ machine: 183, dynamic: true });
  });

  it('is undefined for something that is not ELF', () => {
    expect(elfFacts(Buffer.from('#!/bin/sh\necho not elf\n'.repeat(4)))).toBeUndefined();
  });
});
