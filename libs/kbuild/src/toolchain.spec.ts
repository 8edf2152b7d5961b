import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { detectToolchain } from './toolchain';

describe('detectToolchain', () => {
  const originalPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  it('reports the compiler and binutils versions of the host toolchain', async () => {
    const toolchain = await detectToolchain('x86_64');
    expect(toolchain.gccVersion).toMatch(/gcc/i);
    expect(toolchain.binutilsVersion).toMatch(/ld/i);
  });

  it('names the Debian package of a missing cross compiler', async () => {
    // A PATH without any cross toolchain: only a directory with make-believe nothing.
    process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-path-'));
    await expect(detectToolchain('riscv64')).rejects.toMatchObject({
      message: expect.stringMatching(/no cross toolchain for riscv64: riscv64-linux-gnu-gcc not found/),
      fix: 'install it: apt-get install gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu',
    });
  });
});
