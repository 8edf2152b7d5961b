import { promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { isDirectory, moveMerged } from './move-tree';

export interface ModulesTreeRequest {
  /** The root all the packages were unpacked into; its modules are moved out of it. */
  root: string;
  release: string;
  /** Becomes the root of kernel.tar: lib/modules/<release>/ and, with device trees, boot/dtb/. */
  destination: string;
  log: (line: string) => void;
}

/** Copies of what the image carries at its top (Fedora keeps them beside the modules). */
const BOOT_FILES_IN_MODULES_DIR = ['vmlinuz', '.vmlinuz.hmac', 'System.map', 'config'];

// The one kbuild's modules_install uses too.
const DEPMOD = '/sbin/depmod';

/**
 * Lays out lib/modules/<release> as `modules_install` would: the modules of every package (under
 * /lib/modules or merged-/usr's /usr/lib/modules) in one tree, a `build` link to
 * /usr/src/linux-headers-<release> instead of the packages' build/source links, device trees
 * (Debian's /usr/lib/linux-image-<release>, Fedora's modules dtb/) under boot/dtb, and depmod run.
 */
export async function assembleModulesTree(request: ModulesTreeRequest): Promise<{ modules: number }> {
  const { root, release, destination } = request;
  const modulesDir = path.join(destination, 'lib/modules', release);
  for (const from of [`lib/modules/${release}`, `usr/lib/modules/${release}`]) {
    if (await isDirectory(path.join(root, from))) {
      await moveMerged(path.join(root, from), modulesDir, (relative) => `/lib/modules/${release}/${relative} and /usr/lib/modules/${release}/${relative}`);
    }
  }
  await fs.mkdir(modulesDir, { recursive: true });
  for (const name of ['build', 'source', ...BOOT_FILES_IN_MODULES_DIR]) await fs.rm(path.join(modulesDir, name), { force: true });
  await fs.symlink(`/usr/src/linux-headers-${release}`, path.join(modulesDir, 'build'));

  for (const dtbs of [path.join(root, 'usr/lib', `linux-image-${release}`), path.join(modulesDir, 'dtb')]) {
    if (await isDirectory(dtbs)) await moveMerged(dtbs, path.join(destination, 'boot/dtb'), (relative) => `two device trees boot/dtb/${relative}`);
  }

  const depmod = await execa(DEPMOD, ['-b', destination, release], { reject: false });
  if (depmod.exitCode !== 0) {
    throw new KernelBuildError(`depmod -b ${destination} ${release} failed (exit ${depmod.exitCode ?? 'unknown'})`, 'install kmod (`apt-get install kmod`); a module it cannot read may be corrupt', depmod.stderr);
  }
  if (!(await fs.stat(path.join(modulesDir, 'modules.dep')).catch(() => undefined))) {
    throw new KernelBuildError(
      `depmod wrote no lib/modules/${release}/modules.dep under ${destination}`,
      'this kmod may look in usr/lib/modules; repackage on a host whose kmod uses /lib/modules (Debian 12)',
      depmod.stderr,
    );
  }
  const modules = (await fs.readFile(path.join(modulesDir, 'modules.dep'), 'utf8')).split('\n').filter(Boolean).length;
  request.log(`depmod: ${modules} modules for ${release}`);
  return { modules };
}
