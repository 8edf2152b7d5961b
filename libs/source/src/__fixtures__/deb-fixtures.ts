import { promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';

/** Builds `<dir>/<name>_<version>_all.deb` holding `files` (path inside the package → content). */
export async function buildDeb(dir: string, name: string, version: string, files: Record<string, Buffer | string>): Promise<string> {
  const root = await fs.mkdtemp(path.join(dir, 'deb-root-'));
  await fs.mkdir(path.join(root, 'DEBIAN'));
  await fs.writeFile(
    path.join(root, 'DEBIAN', 'control'),
    [`Package: ${name}`, `Version: ${version}`, 'Architecture: all', 'Maintainer: Test <test@example.org>', 'Description: test package', ''].join('\n'),
  );
  for (const [file, content] of Object.entries(files)) {
    await fs.mkdir(path.join(root, path.dirname(file)), { recursive: true });
    await fs.writeFile(path.join(root, file), content);
  }
  const deb = path.join(dir, `${name}_${version}_all.deb`);
  await execa('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', root, deb]);
  await fs.rm(root, { recursive: true, force: true });
  return deb;
}
