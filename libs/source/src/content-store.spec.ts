import { createHash } from 'crypto';
import { createWriteStream, promises as fs } from 'fs';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { addFileToStore, blobPath, hasBlob, openStore } from './content-store';
import { sha256File } from './sha256';
import { exists, listDir, useTempDirs } from './__fixtures__/temp-dirs';

const sha256Of = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('content store', () => {
  const temp = useTempDirs();

  it('keeps blobs at <root>/sha256/<hex>', () => {
    const store = openStore('/var/cache/kernels');
    expect(blobPath(store, 'AB'.repeat(32))).toBe(`/var/cache/kernels/sha256/${'ab'.repeat(32)}`);
  });

  it('refuses a digest that is not 64 hex digits, naming it', () => {
    expect(() => blobPath(openStore('/s'), 'abc123')).toThrow(/'abc123' is not a sha256 digest/);
  });

  it('hashes a file larger than one read chunk', async () => {
    const dir = await temp.make();
    const content = Buffer.alloc(3 * 1024 * 1024 + 7, 'k');
    await fs.writeFile(path.join(dir, 'big'), content);
    expect(await sha256File(path.join(dir, 'big'))).toBe(sha256Of(content));
  });

  it('adds a file whose sha256 matches, read-only, and leaves no temp file', async () => {
    const dir = await temp.make();
    const store = openStore(path.join(dir, 'store'));
    await fs.writeFile(path.join(dir, 'linux.tar.xz'), 'tarball bytes');
    const sha256 = sha256Of('tarball bytes');

    expect(await hasBlob(store, sha256)).toBe(false);
    const stored = await addFileToStore(store, path.join(dir, 'linux.tar.xz'), sha256);

    expect(stored).toBe(blobPath(store, sha256));
    expect(await hasBlob(store, sha256)).toBe(true);
    expect(await fs.readFile(stored, 'utf8')).toBe('tarball bytes');
    expect((await fs.stat(stored)).mode & 0o222).toBe(0);
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('refuses a file whose sha256 does not match, naming file and both digests, and keeps nothing', async () => {
    const dir = await temp.make();
    const store = openStore(path.join(dir, 'store'));
    const file = path.join(dir, 'linux.tar.xz');
    await fs.writeFile(file, 'other bytes');
    const expected = sha256Of('tarball bytes');

    const failure = addFileToStore(store, file, expected);
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(new RegExp(`${file}: sha256 mismatch: expected ${expected}, got ${sha256Of('other bytes')}`));
    expect(await listDir(path.join(store.root, 'sha256'))).toEqual([]);
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('names a missing source file', async () => {
    const dir = await temp.make();
    await expect(addFileToStore(openStore(dir), path.join(dir, 'absent.tar'), sha256Of(''))).rejects.toThrow(/absent\.tar: no such file/);
  });

  it('writes under a temp name and only renames to the blob path once complete', async () => {
    const dir = await temp.make();
    const store = openStore(path.join(dir, 'store'));
    const fifo = path.join(dir, 'slow-source');
    await execa('mkfifo', [fifo]);
    const content = Buffer.alloc(256 * 1024, 'x');
    const sha256 = sha256Of(content);

    const adding = addFileToStore(store, fifo, sha256);
    const writer = createWriteStream(fifo);
    writer.write(content.subarray(0, 128 * 1024));
    const partial = await waitForNonEmptyFile(path.join(store.root, 'tmp'));

    expect(path.basename(partial)).not.toBe(sha256);
    expect(await exists(blobPath(store, sha256))).toBe(false);

    writer.end(content.subarray(128 * 1024));
    await adding;
    expect(await exists(partial)).toBe(false);
    expect(await sha256File(blobPath(store, sha256))).toBe(sha256);
  });

  it('removes temp files abandoned by a dead process, not those of a live one', async () => {
    const dir = await temp.make();
    const store = openStore(dir);
    await fs.mkdir(path.join(dir, 'tmp'));
    const deadPid = 2 ** 31 - 1;
    await fs.writeFile(path.join(dir, 'tmp', `${deadPid}-0badc0de-abc.partial`), 'half a download');
    await fs.writeFile(path.join(dir, 'tmp', `1-0badc0de-abc.partial`), 'pid 1 is alive');
    await fs.writeFile(path.join(dir, 'file'), 'x');

    await addFileToStore(store, path.join(dir, 'file'), sha256Of('x'));
    expect(await listDir(path.join(dir, 'tmp'))).toEqual(['1-0badc0de-abc.partial']);
  });
});

async function waitForNonEmptyFile(dir: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await listDir(dir)) {
      const stat = await fs.stat(path.join(dir, name)).catch(() => undefined);
      if (stat?.size) return path.join(dir, name);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing written under ${dir} within ${timeoutMs} ms`);
}
