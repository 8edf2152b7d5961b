import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { replaceDirectoryAtomically } from '@linuxkit-kernels/oci';

/** A real final .config: the demo kernel's committed x86_64 config (a fixed point of olddefconfig). */
export const REAL_CONFIG = path.resolve(__dirname, '../../../../kernels/6.12-virt/config-x86_64');

const TARBALL = '/usr/src/linux-source-6.12.tar.xz';

/**
 * The Kconfig files and scripts/diffconfig of Debian's linux-source-6.12, extracted once per
 * tarball into the temp dir and shared by every spec (about 10 s the first time, 19 MB). The
 * package is installed by scripts/install-deps.sh; without it the specs fail rather than skip.
 */
export async function debianKconfigTree(): Promise<string> {
  if (!fs.existsSync(TARBALL)) {
    throw new Error(`${TARBALL} is missing: these specs read the real 6.12 Kconfig tree; install it with bash scripts/install-deps.sh (apt-get install linux-source-6.12)`);
  }
  const { size, mtimeMs } = fs.statSync(TARBALL);
  const root = path.join(os.tmpdir(), 'linuxkit-kernels-specs', `kconfig-6.12-${size}-${Math.round(mtimeMs)}`);
  const tree = path.join(root, 'linux-source-6.12');
  if (!fs.existsSync(path.join(tree, 'Kconfig'))) {
    await replaceDirectoryAtomically(root, (staging) => execa('tar', ['-xJf', TARBALL, '-C', staging, '--wildcards', '*/Kconfig*', '*/scripts/diffconfig']));
  }
  return tree;
}
