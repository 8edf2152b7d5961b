import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/**
 * Copies a tree as hard links (`cp -al`): seconds instead of minutes for a kernel tree, and no
 * extra disk. GNU patch replaces the files it changes rather than writing through the links, so
 * the source stays as it was, and a file's link count tells whether a patch changed it.
 */
export async function copyTreeAsHardlinks(sourceDir: string, targetDir: string): Promise<void> {
  // `source/.` copies the contents, so targetDir becomes the copy rather than a parent of it.
  const result = await execa('cp', ['-al', '--', `${sourceDir}/.`, targetDir], { reject: false });
  if (result.exitCode === 0) return;
  const crossDevice = /cross-device/i.test(result.stderr);
  throw new KernelBuildError(
    `could not hard-link ${sourceDir} to ${targetDir}: ${result.stderr.split('\n')[0] || (result as Partial<execa.ExecaError>).shortMessage}`,
    crossDevice
      ? 'Keep the kernel source store and the patched trees on the same file system (hard links cannot cross file systems).'
      : 'Check that there is disk space and that the directory is writable.',
  );
}
