import { promises as fs } from 'fs';
import path from 'path';
import { extractFileFromDeb } from './deb-package';
import { buildDeb } from './__fixtures__/deb-fixtures';
import { exists, useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(20_000);

describe('extractFileFromDeb', () => {
  const temp = useTempDirs();
  let dir: string;
  let deb: string;

  beforeEach(async () => {
    dir = await temp.make();
    deb = await buildDeb(dir, 'linux-source-6.12', '6.12.118-1', {
      'usr/src/linux-source-6.12.tar.xz': 'the source tarball',
      'usr/share/doc/linux-source-6.12/copyright': 'GPL-2.0',
    });
  });

  it('writes one file of the package to the destination', async () => {
    await extractFileFromDeb(deb, 'usr/src/linux-source-6.12.tar.xz', path.join(dir, 'out'));
    expect(await fs.readFile(path.join(dir, 'out'), 'utf8')).toBe('the source tarball');
  });

  it('accepts the member written as an absolute or ./ path', async () => {
    await extractFileFromDeb(deb, '/usr/src/linux-source-6.12.tar.xz', path.join(dir, 'a'));
    await extractFileFromDeb(deb, './usr/src/linux-source-6.12.tar.xz', path.join(dir, 'b'));
    expect(await fs.readFile(path.join(dir, 'b'), 'utf8')).toBe('the source tarball');
  });

  it('names the package and the file when the package does not have it', async () => {
    await expect(extractFileFromDeb(deb, 'usr/src/linux-source-6.1.tar.xz', path.join(dir, 'out'))).rejects.toThrow(`${deb} has no file usr/src/linux-source-6.1.tar.xz`);
    expect(await exists(path.join(dir, 'out'))).toBe(false);
  });

  it('refuses a member that is a directory', async () => {
    await expect(extractFileFromDeb(deb, 'usr/src', path.join(dir, 'out'))).rejects.toThrow(`${deb}: usr/src is a Directory, not a regular file`);
  });

  it('names a file that is not a .deb', async () => {
    await fs.writeFile(path.join(dir, 'fake.deb'), 'not an ar archive');
    await expect(extractFileFromDeb(path.join(dir, 'fake.deb'), 'usr/src/x', path.join(dir, 'out'))).rejects.toThrow(/fake\.deb: dpkg-deb could not read the package/);
    expect(await exists(path.join(dir, 'out'))).toBe(false);
  });
});
