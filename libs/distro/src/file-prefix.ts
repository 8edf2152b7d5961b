import { promises as fs } from 'fs';

/** The first `length` bytes of a file (fewer if it is shorter): enough to tell formats by their magic. */
export async function readFilePrefix(file: string, length: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
