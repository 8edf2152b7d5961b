import { promises as fs } from 'fs';
import path from 'path';
import { blobPath } from './digest';
import { extractImageFile, readImageLayout } from './read-image-layout';
import { KernelOutputs, flipLastByte, layoutOptions, writeKernelOutputs } from './test-support/kernel-image';
import { makeTempDir } from './test-support/sample-files';
import { writeKernelImageLayout } from './write-image-layout';

describe('readImageLayout and extractImageFile', () => {
  let dir: string;
  let buildDir: string;
  let outputs: KernelOutputs;
  let layoutDir: string;
  let written: Awaited<ReturnType<typeof writeKernelImageLayout>>;
  beforeAll(async () => {
    dir = await makeTempDir('extract');
    buildDir = path.join(dir, 'build');
    outputs = await writeKernelOutputs(buildDir);
  });
  beforeEach(async () => {
    layoutDir = path.join(dir, 'layout');
    written = await writeKernelImageLayout(layoutOptions(buildDir, layoutDir));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('extracts /kernel and /kernel.tar byte for byte, with their modes', async () => {
    const kernel = await extractImageFile(layoutDir, '6.12.1', '/kernel', path.join(dir, 'out', 'kernel'));
    expect(kernel).toEqual({ dest: path.join(dir, 'out', 'kernel'), size: outputs.bzImage.length, mode: 0o644 });
    expect((await fs.readFile(kernel.dest)).equals(outputs.bzImage)).toBe(true);
    const modules = await extractImageFile(layoutDir, '6.12.1-0123abcd', 'kernel.tar', path.join(dir, 'out', 'kernel.tar'));
    expect((await fs.readFile(modules.dest)).equals(outputs.modulesTar)).toBe(true);
    const perf = await extractImageFile(layoutDir, '6.12.1', 'usr/bin/perf', path.join(dir, 'out', 'perf'));
    expect(perf.mode).toBe(0o755);
    expect((await fs.stat(perf.dest)).mode & 0o7777).toBe(0o755);
  });

  it('names the tags there are when the tag is not in the layout', async () => {
    await expect(extractImageFile(layoutDir, '6.1.0', 'kernel', path.join(dir, 'x'))).rejects.toMatchObject({
      message: expect.stringMatching(/has no image tagged '6\.1\.0'/),
      fix: 'use one of: 6.12.1, 6.12.1-0123abcd',
    });
  });

  it('names the files there are when the file is not in the image, and writes nothing', async () => {
    const dest = path.join(dir, 'missing', 'vmlinux');
    await expect(extractImageFile(layoutDir, '6.12.1', 'vmlinux', dest)).rejects.toMatchObject({
      message: expect.stringMatching(/has no file 'vmlinux'/),
      details: 'it holds: System.map, kernel, kernel-builder, kernel.tar, usr, usr/bin, usr/bin/perf',
    });
    expect(await fs.readdir(path.dirname(dest))).toEqual([]);
  });

  it('refuses to extract a directory', async () => {
    await expect(extractImageFile(layoutDir, '6.12.1', 'usr/bin', path.join(dir, 'bin'))).rejects.toThrow(/'usr\/bin' in .* is a Directory/);
  });

  it('detects a corrupted config blob and names it', async () => {
    await flipLastByte(blobPath(layoutDir, written.configDigest));
    await expect(readImageLayout(layoutDir)).rejects.toThrow(
      new RegExp(`blob ${written.configDigest} \\(the config of the manifest of tag 6\\.12\\.1\\) in .* is corrupt: its content hashes to sha256:`),
    );
  });

  it('detects a corrupted manifest blob and names it', async () => {
    await flipLastByte(blobPath(layoutDir, written.manifestDigest));
    await expect(readImageLayout(layoutDir)).rejects.toThrow(new RegExp(`blob ${written.manifestDigest} \\(the manifest of tag 6\\.12\\.1\\)`));
  });

  it('detects a missing or truncated layer without hashing it, and a same-size corruption when asked to verify layers', async () => {
    const layerFile = blobPath(layoutDir, written.layer.digest);
    await flipLastByte(layerFile);
    await expect(readImageLayout(layoutDir)).resolves.toBeDefined();
    await expect(readImageLayout(layoutDir, { verifyLayers: true })).rejects.toThrow(
      new RegExp(`blob ${written.layer.digest} \\(layer 0 of the manifest of tag 6\\.12\\.1\\) .* is corrupt: its content hashes to`),
    );
    await fs.truncate(layerFile, 100);
    await expect(readImageLayout(layoutDir)).rejects.toThrow(new RegExp(`is corrupt: 100 bytes, its descriptor says ${written.layer.size}`));
    await fs.rm(layerFile);
    await expect(readImageLayout(layoutDir)).rejects.toThrow(new RegExp(`blob ${written.layer.digest} .* is missing`));
  });

  it('refuses to extract from a corrupted layer, and leaves no file behind', async () => {
    await flipLastByte(blobPath(layoutDir, written.layer.digest));
    const dest = path.join(dir, 'corrupt-out', 'kernel');
    await expect(extractImageFile(layoutDir, '6.12.1', 'kernel', dest)).rejects.toThrow(
      new RegExp(`blob ${written.layer.digest} \\(layer 0 of the image tagged 6\\.12\\.1\\) in .* is corrupt`),
    );
    expect(await fs.readdir(path.dirname(dest))).toEqual([]);
  });

  it('says a directory is not an image layout', async () => {
    await expect(readImageLayout(buildDir)).rejects.toThrow(/is not an OCI image layout: it has no readable oci-layout/);
  });
});
