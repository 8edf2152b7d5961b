import { createHash } from 'crypto';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { blobPath, ContentStore, openStore } from './content-store';
import { downloadToStore, retryDelayMs } from './download';
import { sha256File } from './sha256';
import { failWith, inTurn, LoopbackServer, sendHalfThenCut, sendHalfThenWait, serveBytes, startLoopbackServer } from './__fixtures__/loopback-server';
import { exists, listDir, useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(20_000);

const tarball = Buffer.alloc(200_000, 'linux-6.12.1 ');
const tarballSha256 = createHash('sha256').update(tarball).digest('hex');

async function expectStoreEmpty(store: ContentStore): Promise<void> {
  expect(await listDir(path.join(store.root, 'sha256'))).toEqual([]);
  expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
}

describe('downloadToStore', () => {
  const temp = useTempDirs();
  let server: LoopbackServer;
  let releaseSlowBody: () => void;
  let store: ContentStore;

  beforeAll(async () => {
    const slowBodyReleased = new Promise<void>((resolve) => (releaseSlowBody = resolve));
    server = await startLoopbackServer({
      '/linux.tar.xz': serveBytes(tarball),
      '/missing.tar.xz': failWith(404),
      '/cut.tar.xz': sendHalfThenCut(tarball),
      '/flaky.tar.xz': inTurn(failWith(503), serveBytes(tarball)),
      '/broken.tar.xz': failWith(500),
      '/slow.tar.xz': sendHalfThenWait(tarball, slowBodyReleased),
      '/hanging.tar.xz': sendHalfThenWait(tarball, new Promise(() => undefined)),
    });
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    store = openStore(await temp.make());
    server.requests.length = 0;
  });

  it('streams the file into the store and reports progress', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const stored = await downloadToStore(store, server.url('/linux.tar.xz'), tarballSha256, { onProgress: (bytes, total) => progress.push([bytes, total]) });

    expect(stored).toBe(blobPath(store, tarballSha256));
    expect(await sha256File(stored)).toBe(tarballSha256);
    expect(progress.at(-1)).toEqual([tarball.length, tarball.length]);
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('fails on a 404 at once, naming the URL, and keeps nothing', async () => {
    const url = server.url('/missing.tar.xz');
    const failure = downloadToStore(store, url, tarballSha256);
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(`GET ${url}: HTTP 404 Not Found`);
    expect(server.requests).toEqual(['GET /missing.tar.xz']);
    await expectStoreEmpty(store);
  });

  it('keeps no partial file when the server cuts the connection mid-body, and names the URL', async () => {
    const url = server.url('/cut.tar.xz');
    await expect(downloadToStore(store, url, tarballSha256, { retries: 1 })).rejects.toThrow(new RegExp(`GET ${url} failed after 2 attempt\\(s\\)`));
    expect(server.requests).toEqual(['GET /cut.tar.xz', 'GET /cut.tar.xz']);
    await expectStoreEmpty(store);
  });

  it('removes a download whose sha256 does not match and does not retry it', async () => {
    const url = server.url('/linux.tar.xz');
    const wrong = 'f'.repeat(64);
    await expect(downloadToStore(store, url, wrong)).rejects.toThrow(`${url}: sha256 mismatch: expected ${wrong}, got ${tarballSha256}`);
    expect(server.requests).toHaveLength(1);
    await expectStoreEmpty(store);
  });

  it('retries after a 5xx and succeeds', async () => {
    await downloadToStore(store, server.url('/flaky.tar.xz'), tarballSha256, { retries: 2 });
    expect(server.requests).toEqual(['GET /flaky.tar.xz', 'GET /flaky.tar.xz']);
    expect(await sha256File(blobPath(store, tarballSha256))).toBe(tarballSha256);
  });

  it('gives up on a 5xx after the given number of retries', async () => {
    const url = server.url('/broken.tar.xz');
    await expect(downloadToStore(store, url, tarballSha256, { retries: 2 })).rejects.toThrow(`GET ${url}: HTTP 500 Internal Server Error after 3 attempts`);
    expect(server.requests).toHaveLength(3);
    await expectStoreEmpty(store);
  });

  it('retries a refused connection, then names the URL', async () => {
    const closed = await startLoopbackServer({});
    const url = closed.url('/linux.tar.xz');
    await closed.close();
    await expect(downloadToStore(store, url, tarballSha256, { retries: 1 })).rejects.toThrow(new RegExp(`GET ${url} failed after 2 attempt\\(s\\).*ECONNREFUSED`));
    await expectStoreEmpty(store);
  });

  it('writes under a temp name, never the blob path, until the body is complete', async () => {
    const downloading = downloadToStore(store, server.url('/slow.tar.xz'), tarballSha256);
    const partial = await waitForFileInDir(path.join(store.root, 'tmp'));

    expect(path.basename(partial)).not.toContain(tarballSha256);
    expect(await exists(blobPath(store, tarballSha256))).toBe(false);

    releaseSlowBody();
    await downloading;
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
    expect(await sha256File(blobPath(store, tarballSha256))).toBe(tarballSha256);
  });

  it('stops when aborted, keeping nothing', async () => {
    const controller = new AbortController();
    const url = server.url('/hanging.tar.xz');
    const failure = downloadToStore(store, url, tarballSha256, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(failure).rejects.toThrow(`GET ${url}: aborted`);
    await expectStoreEmpty(store);
  });

  it('waits longer before each retry, up to 4 s', () => {
    expect([0, 1, 2, 3, 10].map(retryDelayMs)).toEqual([250, 500, 1000, 2000, 4000]);
  });
});

async function waitForFileInDir(dir: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [name] = await listDir(dir);
    if (name) return path.join(dir, name);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no file appeared in ${dir} within ${timeoutMs} ms`);
}
