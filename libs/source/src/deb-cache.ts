import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { AptTools, systemApt } from './apt';

/**
 * apt-get download of an exact `name=version`, kept under cacheRoot/<name>=<version>/ so a package
 * once downloaded is never fetched again (builds work offline afterwards). Written via a temp dir.
 */
export async function cachedDebPackage(spec: string, cacheRoot: string, options: { apt?: AptTools; log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<string> {
  const [name, version] = spec.split('=');
  if (!name || !version) throw new KernelBuildError(`'${spec}' is not name=version`, 'write Debian packages as name=version, e.g. acpi-call-dkms=1.2.2-2.1');
  const dir = path.join(cacheRoot, spec.replace(/:/g, '%3a'));
  const cached = fs.existsSync(dir) ? fs.readdirSync(dir).find((file) => file.endsWith('.deb')) : undefined;
  if (cached) return path.join(dir, cached);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    options.log?.(`apt-get download ${spec}`);
    const deb = await (options.apt ?? systemApt).downloadDeb(name, version, tmp, options.signal);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return path.join(dir, path.basename(deb));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
