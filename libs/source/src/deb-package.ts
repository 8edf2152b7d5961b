import { createWriteStream, promises as fs } from 'fs';
import { finished, pipeline } from 'stream/promises';
import execa from 'execa';
import { Parser, ReadEntry } from 'tar';
import { KernelBuildError } from '@linuxkit-kernels/errors';

function memberName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/**
 * Writes one regular file of a .deb's data archive (`usr/src/linux-source-6.12.tar.xz`) to
 * `destination`, streaming (`dpkg-deb --fsys-tarfile` into a tar parser): the member can be far
 * larger than memory should hold.
 */
export async function extractFileFromDeb(debPath: string, file: string, destination: string): Promise<void> {
  const wanted = memberName(file);
  const dpkg = execa('dpkg-deb', ['--fsys-tarfile', debPath], { buffer: false, stdout: 'pipe', stderr: 'pipe' });
  let stderr = '';
  dpkg.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  let found: ReadEntry | undefined;
  let written: Promise<Error | undefined> | undefined;
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (found || memberName(entry.path) !== wanted) return entry.resume();
      found = entry;
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return entry.resume();
      const output = createWriteStream(destination, { mode: 0o644 });
      entry.pipe(output);
      written = finished(output).then(() => undefined, (error: Error) => error);
    },
  });

  try {
    await Promise.all([pipeline(dpkg.stdout!, parser), dpkg]);
  } catch (error) {
    await fs.rm(destination, { force: true });
    throw new KernelBuildError(`${debPath}: dpkg-deb could not read the package (${stderr.trim() || (error as Error).message})`, 'delete the .deb and download it again');
  }
  const writeError = await written;
  if (writeError) {
    await fs.rm(destination, { force: true });
    throw new KernelBuildError(`${destination}: cannot write ${wanted} from ${debPath} (${writeError.message})`, 'check free space and permissions of the store');
  }
  if (!found) {
    throw new KernelBuildError(`${debPath} has no file ${wanted}`, `check source.file in kernel.yaml against \`dpkg-deb -c ${debPath}\``);
  }
  if (!written) {
    throw new KernelBuildError(`${debPath}: ${wanted} is a ${found.type}, not a regular file`, 'point source.file in kernel.yaml at the tarball itself');
  }
}
