import { promises as fs } from 'fs';
import path from 'path';
import { detectCompression, openTarByteStream } from './compression';
import { compressFile } from './__fixtures__/tar-fixtures';
import { useTempDirs } from './__fixtures__/temp-dirs';

describe('detectCompression', () => {
  it('recognises xz, gzip, zstd and bzip2 by their magic bytes, whatever the file is called', () => {
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]))).toBe('xz');
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 0x08]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(detectCompression(Buffer.from('linux-6.12.1/\0\0\0'))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });
});

describe('openTarByteStream', () => {
  const temp = useTempDirs();

  it('streams the decompressed bytes and shows the caller every byte of the file', async () => {
    const dir = await temp.make();
    const plain = path.join(dir, 'data.tar');
    await fs.writeFile(plain, 'tar bytes '.repeat(1000));
    const compressed = await compressFile(plain, 'zstd');
    let fileBytes = 0;

    const source = await openTarByteStream(compressed, { onFileChunk: (chunk) => (fileBytes += chunk.length) });
    const parts: Buffer[] = [];
    for await (const chunk of source.tar) parts.push(chunk as Buffer);
    await source.finished;

    expect(source.compression).toBe('zstd');
    expect(Buffer.concat(parts).toString()).toBe('tar bytes '.repeat(1000));
    expect(fileBytes).toBe((await fs.stat(compressed)).size);
  });

  it('names a tarball that cannot be opened', async () => {
    await expect(openTarByteStream('/nonexistent/linux.tar.xz')).rejects.toThrow('/nonexistent/linux.tar.xz: cannot open the tarball');
  });
});
