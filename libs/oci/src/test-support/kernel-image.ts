import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import path from 'path';
import type { KernelImageLayoutOptions } from '../write-image-layout';
import { sampleBytes } from './sample-files';

export const CREATED = 1700000000;
export const BUILD_IMAGE_LABEL = 'org.mobyproject.linuxkit.kernel.buildimage';
export const BUILDER = 'linuxkit/kernel:6.12.1-builder';
export const WORKSPACE_ROOT = path.resolve(__dirname, '../../../..');

export interface KernelOutputs {
  bzImage: Buffer;
  modulesTar: Buffer;
  systemMap: Buffer;
  perf: Buffer;
}

/** Stand-ins for a build's outputs: a kernel, a modules tar, System.map, kernel-builder and perf. */
export async function writeKernelOutputs(dir: string): Promise<KernelOutputs> {
  const outputs = {
    bzImage: sampleBytes(300_000, 11),
    modulesTar: sampleBytes(200_000, 12),
    systemMap: Buffer.from('ffffffff81000000 T _text\nffffffff81000040 T startup_64\n'),
    perf: sampleBytes(5_000, 13),
  };
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'bzImage'), outputs.bzImage);
  await fs.writeFile(path.join(dir, 'kernel.tar'), outputs.modulesTar);
  await fs.writeFile(path.join(dir, 'System.map'), outputs.systemMap);
  await fs.writeFile(path.join(dir, 'kernel-builder'), BUILDER);
  await fs.writeFile(path.join(dir, 'perf'), outputs.perf);
  return outputs;
}

export function layoutOptions(buildDir: string, layoutDir: string, overrides: Partial<KernelImageLayoutOptions> = {}): KernelImageLayoutOptions {
  return {
    layoutDir,
    arch: 'amd64',
    files: [
      { path: 'kernel', source: path.join(buildDir, 'bzImage') },
      { path: 'kernel.tar', source: path.join(buildDir, 'kernel.tar') },
      { path: 'System.map', source: path.join(buildDir, 'System.map') },
      { path: 'kernel-builder', source: path.join(buildDir, 'kernel-builder') },
      { path: 'usr/bin/perf', source: path.join(buildDir, 'perf'), mode: 0o755 },
    ],
    labels: { [BUILD_IMAGE_LABEL]: BUILDER },
    annotations: { 'org.opencontainers.image.source': 'https://example.invalid/kernels' },
    tags: ['6.12.1', '6.12.1-0123abcd'],
    created: CREATED,
    ...overrides,
  };
}

/** Every file of a layout and the sha256 of its content, to compare two layouts byte for byte. */
export async function layoutFingerprint(layoutDir: string): Promise<Record<string, string>> {
  const fingerprint: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else fingerprint[path.relative(layoutDir, full)] = createHash('sha256').update(await fs.readFile(full)).digest('hex');
    }
  };
  await walk(layoutDir);
  return fingerprint;
}

/** Corrupts a blob without changing its size, so only hashing can tell. */
export async function flipLastByte(file: string): Promise<void> {
  const bytes = await fs.readFile(file);
  bytes[bytes.length - 1] ^= 0xff;
  await fs.writeFile(file, bytes);
}
