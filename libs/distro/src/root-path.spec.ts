import { promises as fs } from 'fs';
import path from 'path';
import { resolveInRoot } from './root-path';
import { useTempDirs, writeTree } from './testing/package-fixtures';

describe('resolveInRoot', () => {
  const temp = useTempDirs();

  it('follows relative and absolute links as if the root were /', async () => {
    const root = await temp.make();
    await writeTree(root, {
      'usr/lib/linux-kbuild-6.1/scripts/Makefile.build': '',
      'usr/src/linux-headers-6.1.0-57-cloud-amd64/scripts': { symlink: '../../lib/linux-kbuild-6.1/scripts' },
      'lib/modules/6.1.0-57-cloud-amd64/build': { symlink: '/usr/src/linux-headers-6.1.0-57-cloud-amd64' },
    });
    expect(await resolveInRoot(root, 'lib/modules/6.1.0-57-cloud-amd64/build/scripts/Makefile.build')).toEqual({
      path: 'usr/lib/linux-kbuild-6.1/scripts/Makefile.build',
      exists: true,
    });
  });

  it("never climbs above the root, and resolves what is missing by name", async () => {
    const root = await temp.make();
    await writeTree(root, { 'a/up': { symlink: '../../../../etc' }, 'a/gone': { symlink: '/usr/lib/linux-kbuild-6.1/scripts' } });
    expect(await resolveInRoot(root, 'a/up')).toEqual({ path: 'etc', exists: false });
    expect(await resolveInRoot(root, 'a/gone/../tools')).toEqual({ path: 'usr/lib/linux-kbuild-6.1/tools', exists: false });
  });

  it('refuses a symlink loop', async () => {
    const root = await temp.make();
    await fs.symlink('b', path.join(root, 'a'));
    await fs.symlink('a', path.join(root, 'b'));
    await expect(resolveInRoot(root, 'a')).rejects.toThrow(/more than 40 symlinks/);
  });
});
