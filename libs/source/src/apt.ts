import { promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/** The two questions fetchSource asks of the package system; tests answer them without apt. */
export interface AptTools {
  /** The version dpkg reports as installed, or undefined when the package is not (fully) installed. */
  installedVersion(packageName: string): Promise<string | undefined>;
  /** Downloads `packageName=version` into `dir` (no install, no root needed) and returns the .deb's path. */
  downloadDeb(packageName: string, version: string, dir: string, signal?: AbortSignal): Promise<string>;
}

/** Reads `dpkg-query -W -f='${Status}\t${Version}'`; a removed package keeping its config files does not count. */
export function installedVersionFromStatus(output: string): string | undefined {
  const [status, version] = output.trim().split('\t');
  return status === 'install ok installed' && version ? version : undefined;
}

/** Turns apt-get's complaint into a message naming the package and version, and what to do. */
export function aptDownloadError(packageName: string, version: string, stderr: string): KernelBuildError {
  const unavailable = /Unable to locate package|Version '.*' for '.*' was not found|has no installation candidate|Can't select/.test(stderr);
  if (unavailable) {
    return new KernelBuildError(
      `apt has no ${packageName} version ${version}`,
      `run \`apt-get update\` (the mirror may have it now), or set source.version in kernel.yaml to one \`apt-cache policy ${packageName}\` lists (and update sha256)`,
      stderr.trim(),
    );
  }
  return new KernelBuildError(`apt-get download ${packageName}=${version} failed`, 'check the apt sources and the network, then try again', stderr.trim());
}

export const systemApt: AptTools = {
  async installedVersion(packageName) {
    const result = await execa('dpkg-query', ['-W', '-f=${Status}\t${Version}', packageName], { reject: false });
    return result.exitCode === 0 ? installedVersionFromStatus(result.stdout) : undefined;
  },

  async downloadDeb(packageName, version, dir, signal) {
    const child = execa('apt-get', ['download', '-q', `${packageName}=${version}`], { cwd: dir, reject: false });
    const abort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    const result = await child.finally(() => signal?.removeEventListener('abort', abort));
    if (signal?.aborted) throw new KernelBuildError(`apt-get download ${packageName}=${version}: aborted`, 'run the build again when ready');
    if (result.exitCode !== 0) throw aptDownloadError(packageName, version, result.stderr);
    const debs = (await fs.readdir(dir)).filter((name) => name.endsWith('.deb'));
    if (debs.length !== 1) {
      throw new KernelBuildError(`apt-get download ${packageName}=${version} left ${debs.length} .deb files in ${dir}`, 'report this; expected exactly one', result.stdout);
    }
    return path.join(dir, debs[0]);
  },
};
