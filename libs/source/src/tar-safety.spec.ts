import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { assertTarballSafe, TarStreamValidator } from './tar-safety';
import { compressFile, headerEnd, HOSTILE_TARS, rawTar, SAMPLE_MAKEFILE, SAMPLE_TOP, tarDirectory, writeSourceTree } from './__fixtures__/tar-fixtures';
import { useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(20_000);

describe('assertTarballSafe', () => {
  const temp = useTempDirs();
  let dir: string;
  beforeEach(async () => {
    dir = await temp.make();
  });

  it.each(['none', 'xz', 'gzip', 'zstd'] as const)('accepts a plain source tarball (%s)', async (compression) => {
    await writeSourceTree(dir, 'linux-6.12.1');
    const tar = await tarDirectory(dir, 'linux-6.12.1', 'linux-6.12.1');
    await expect(assertTarballSafe(compression === 'none' ? tar : await compressFile(tar, compression))).resolves.toBeUndefined();
  });

  it.each(Object.entries(HOSTILE_TARS))('refuses %s, naming the entry', async (_name, { entries, refused }) => {
    const tarball = path.join(dir, 'hostile.tar');
    await fs.writeFile(tarball, rawTar(entries));
    const failure = assertTarballSafe(await compressFile(tarball, 'xz'));
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(`hostile.tar.xz: refused entry '${refused}'`);
  });

  it('refuses a file that is not a tar at all', async () => {
    const notTar = path.join(dir, 'linux-6.12.1.tar');
    await fs.writeFile(notTar, '<html>404 Not Found</html>\n'.repeat(50));
    await expect(assertTarballSafe(notTar)).rejects.toThrow(`${notTar}: not a valid tar archive`);
    await fs.writeFile(notTar, '');
    await expect(assertTarballSafe(notTar)).rejects.toThrow(`${notTar}: not a valid tar archive`);
  });

  it('refuses a truncated tar', async () => {
    const tar = rawTar([SAMPLE_TOP, { ...SAMPLE_MAKEFILE, body: 'x'.repeat(5000) }]);
    await fs.writeFile(path.join(dir, 'cut.tar'), tar.subarray(0, 2048));
    await expect(assertTarballSafe(path.join(dir, 'cut.tar'))).rejects.toThrow(/cut\.tar: not a valid tar archive \(Truncated input/);
  });

  it('refuses a tar that is still gzip-compressed inside the xz', async () => {
    await fs.writeFile(path.join(dir, 'double.tar'), rawTar([SAMPLE_TOP, SAMPLE_MAKEFILE]));
    const gz = await compressFile(path.join(dir, 'double.tar'), 'gzip');
    const xz = await compressFile(gz, 'xz');
    await expect(assertTarballSafe(xz)).rejects.toThrow(/not a valid tar archive \(the data is still gzip-compressed/);
  });
});

describe('TarStreamValidator', () => {
  it.each([1, 100, 511, 512, 513, 4096])('refuses at the chunk that completes the hostile header (chunks of %i bytes)', (chunkSize) => {
    const tar = rawTar(HOSTILE_TARS['a symlink out of the tree, then a file through it'].entries);
    const end = headerEnd(tar, 'linux-6.12.1/link');
    const validator = new TarStreamValidator({ stripComponents: 1 });

    let accepted = 0;
    for (let offset = 0; offset < tar.length; offset += chunkSize) {
      const chunk = tar.subarray(offset, offset + chunkSize);
      if (!validator.write(chunk)) break;
      accepted += chunk.length;
    }
    // Everything accepted may go to the extractor: it must end before the hostile header does.
    expect(accepted).toBeLessThan(end);
    expect(accepted + chunkSize).toBeGreaterThanOrEqual(end);
    expect(validator.refusal?.entry).toBe('linux-6.12.1/link');
  });

  it('counts the entries of an accepted tar', async () => {
    const validator = new TarStreamValidator({ stripComponents: 1 });
    expect(validator.write(rawTar([SAMPLE_TOP, SAMPLE_MAKEFILE]))).toBe(true);
    expect(await validator.end()).toBeUndefined();
    expect(validator.entries).toBe(2);
  });
});
