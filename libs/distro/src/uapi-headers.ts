import { promises as fs } from 'fs';
import path from 'path';
import { isDirectory, moveMerged } from './move-tree';

// Debian's multiarch include directory: linux-libc-dev puts asm/ under usr/include/x86_64-linux-gnu/.
const MULTIARCH_DIR = /^[a-z0-9_]+-linux-[a-z0-9_]+$/;

/**
 * Lays out usr/include as `headers_install` does (asm/ beside linux/, no multiarch directory),
 * from the UAPI headers package when one was given (linux-libc-dev, kernel-headers). Without one,
 * usr/include/ stays empty: kernel-headers.tar must exist in every image, and an empty tree says
 * "not shipped" more honestly than the host's or another kernel's headers would.
 */
export async function assembleUapiHeaders(root: string, destination: string): Promise<{ shipped: boolean }> {
  const include = path.join(destination, 'usr/include');
  const shipped = await isDirectory(path.join(root, 'usr/include'));
  if (!shipped) {
    await fs.mkdir(include, { recursive: true });
    return { shipped };
  }
  await moveMerged(path.join(root, 'usr/include'), include, (relative) => `usr/include/${relative} twice`);
  for (const name of (await fs.readdir(include)).sort()) {
    if (!MULTIARCH_DIR.test(name) || !(await isDirectory(path.join(include, name)))) continue;
    await moveMerged(path.join(include, name), include, (relative) => `usr/include/${relative} and usr/include/${name}/${relative}`);
  }
  return { shipped };
}
