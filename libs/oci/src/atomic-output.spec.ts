import { promises as fs } from 'fs';
import path from 'path';
import { replaceDirectoryAtomically, writeFileViaTempSibling } from './atomic-output';
import { makeTempDir } from './test-support/sample-files';

// A pid no process has: above the kernel's pid_max ceiling (2^22).
const DEAD_PID = 4194305;

describe('writeFileViaTempSibling', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('atomic');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('renames the finished temp file over the target', async () => {
    const target = path.join(dir, 'out');
    await fs.writeFile(target, 'old');
    await writeFileViaTempSibling(target, (temp) => fs.writeFile(temp, 'new'));
    expect(await fs.readFile(target, 'utf8')).toBe('new');
    expect(await fs.readdir(dir)).toEqual(['out']);
  });

  it('leaves the old file and no temp file when producing fails', async () => {
    const target = path.join(dir, 'out');
    await fs.writeFile(target, 'old');
    await expect(
      writeFileViaTempSibling(target, async (temp) => {
        await fs.writeFile(temp, 'half');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await fs.readFile(target, 'utf8')).toBe('old');
    expect(await fs.readdir(dir)).toEqual(['out']);
  });

  it('turns a full disk into a message naming the device, the free space and the fix', async () => {
    const target = path.join(dir, 'out');
    await fs.writeFile(target, 'old');
    // /dev/full answers every write with ENOSPC, as a full disk does.
    const failure = writeFileViaTempSibling(target, async (temp) => {
      await fs.writeFile(temp, 'half');
      await fs.writeFile('/dev/full', 'more');
    });
    await expect(failure).rejects.toThrow(new RegExp(`^no space left on the device holding ${dir} while writing ${target} \\(\\d+ MiB free after removing the partial output\\)$`));
    await expect(failure).rejects.toMatchObject({ fix: expect.stringMatching(/^free space there \(df -h .*\) .*then run again: nothing half-written was kept$/) });
    expect(await fs.readdir(dir)).toEqual(['out']);
  });
});

describe('replaceDirectoryAtomically', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('atomic-dir');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('swaps a new directory in for a non-empty old one', async () => {
    const target = path.join(dir, 'layout');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'old-only'), 'old');
    const result = await replaceDirectoryAtomically(target, async (staging) => {
      await fs.writeFile(path.join(staging, 'new-only'), 'new');
      return 42;
    });
    expect(result).toBe(42);
    expect(await fs.readdir(target)).toEqual(['new-only']);
    expect(await fs.readdir(dir)).toEqual(['layout']);
  });

  it('creates the directory (and its parents) when there was none', async () => {
    const target = path.join(dir, 'a', 'b', 'layout');
    await replaceDirectoryAtomically(target, (staging) => fs.writeFile(path.join(staging, 'f'), ''));
    expect(await fs.readdir(target)).toEqual(['f']);
  });

  it('keeps the old directory untouched and removes the staging one when building fails', async () => {
    const target = path.join(dir, 'layout');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'old-only'), 'old');
    await expect(
      replaceDirectoryAtomically(target, async (staging) => {
        await fs.writeFile(path.join(staging, 'half'), '');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await fs.readdir(target)).toEqual(['old-only']);
    expect(await fs.readdir(dir)).toEqual(['layout']);
  });

  it('removes the staging dir and names the full device when the build runs out of space', async () => {
    const target = path.join(dir, 'layout');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'index.json'), 'old');
    const failure = replaceDirectoryAtomically(target, async (staging) => {
      await fs.writeFile(path.join(staging, 'blob'), 'half');
      await fs.writeFile('/dev/full', 'more');
    });
    await expect(failure).rejects.toThrow(/^no space left on the device holding .* while writing .*layout/);
    expect(await fs.readdir(dir)).toEqual(['layout']);
    expect(await fs.readFile(path.join(target, 'index.json'), 'utf8')).toBe('old');
  });

  it('removes what killed runs left behind, but not what a live run is writing', async () => {
    const target = path.join(dir, 'layout');
    const abandoned = path.join(dir, `.layout.partial-${DEAD_PID}-0123abcd`);
    const live = path.join(dir, `.layout.partial-${process.pid}-0123abcd`);
    const unrelated = path.join(dir, '.other.partial-1-0123abcd');
    for (const leftover of [abandoned, live, unrelated]) await fs.mkdir(leftover);
    await replaceDirectoryAtomically(target, async () => undefined);
    expect((await fs.readdir(dir)).sort()).toEqual(['.layout.partial-' + process.pid + '-0123abcd', '.other.partial-1-0123abcd', 'layout']);
  });
});
