import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { ImageArch, KernelImageLayout, writeKernelImageLayout } from '@linuxkit-kernels/oci';

export const BUILD_IMAGE_LABEL = 'org.mobyproject.linuxkit.kernel.buildimage';

/** Bytes that do not compress (a sha256 counter stream), the same for the same seed. */
export function incompressibleBytes(length: number, seed: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * 32 < length; counter += 1) {
    blocks.push(createHash('sha256').update(`${seed}:${counter}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

export async function makeTempDir(name: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `registry-${name}-`));
}

export interface TestKernelLayout extends KernelImageLayout {
  layoutDir: string;
}

/**
 * A small LinuxKit kernel image layout (kernel, System.map, kernel-builder) written by the oci
 * lib. `kernelBytes` sets the size of the one layer, near enough, since the kernel stand-in
 * does not compress; `seed` makes images of the same arch differ.
 */
export async function writeTestKernelLayout(
  dir: string,
  options: { arch?: ImageArch; tags?: string[]; kernelBytes?: number; seed?: number; name?: string } = {},
): Promise<TestKernelLayout> {
  const arch = options.arch ?? 'amd64';
  const seed = options.seed ?? 1;
  const name = options.name ?? `${arch}-${seed}`;
  const buildDir = path.join(dir, `build-${name}`);
  await fs.mkdir(buildDir, { recursive: true });
  await fs.writeFile(path.join(buildDir, 'kernel'), incompressibleBytes(options.kernelBytes ?? 20_000, seed));
  await fs.writeFile(path.join(buildDir, 'System.map'), `ffffffff81000000 T _text ${seed}\n`);
  await fs.writeFile(path.join(buildDir, 'kernel-builder'), 'linuxkit/kernel:6.12.1-builder');
  const layoutDir = path.join(dir, `layout-${name}`);
  const written = await writeKernelImageLayout({
    layoutDir,
    arch,
    files: ['kernel', 'System.map', 'kernel-builder'].map((file) => ({ path: file, source: path.join(buildDir, file) })),
    labels: { [BUILD_IMAGE_LABEL]: 'linuxkit/kernel:6.12.1-builder' },
    tags: options.tags ?? ['6.12.1', '6.12.1-0123abcd'],
    created: 1_700_000_000,
  });
  return { ...written, layoutDir };
}
