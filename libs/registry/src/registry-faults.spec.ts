import { promises as fs } from 'fs';
import { pushImageLayout } from './push-image-layout';
import { pushIndex } from './push-index';
import { RegistryClientOptions, createRegistryClient } from './registry-client';
import { Fault, FaultProxy, ProxiedRequest, startFaultProxy } from './test-support/fault-proxy';
import { TestKernelLayout, makeTempDir, writeTestKernelLayout } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';

jest.setTimeout(30_000);

describe('registry faults: retries, backoff and what is left behind', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let image: TestKernelLayout;
  let fault: (request: ProxiedRequest) => Fault | undefined = () => undefined;
  const log: string[] = [];

  const client = (options: Partial<RegistryClientOptions> = {}) =>
    createRegistryClient({ registry: proxy.url, retryDelayMs: 5, log: (line) => log.push(line), ...options });
  /** A fault for the first `times` requests that match. */
  const failing = (times: number, matches: (request: ProxiedRequest) => boolean, injected: Fault) => {
    let left = times;
    return (request: ProxiedRequest) => {
      if (left === 0 || !matches(request)) return undefined;
      left -= 1;
      return injected;
    };
  };
  const isLayerUpload = (request: ProxiedRequest) =>
    request.method === 'PUT' && request.path.includes('/blobs/uploads/') && request.path.includes(image.layer.digest.replace(':', '%3A'));
  const count = (method: string, fragment: string) => proxy.requests.filter((request) => request.method === method && request.path.includes(fragment)).length;

  beforeAll(async () => {
    registry = await startTestRegistry();
    proxy = await startFaultProxy({ upstream: registry.url, fault: (request) => fault(request) });
    dir = await makeTempDir('faults');
    image = await writeTestKernelLayout(dir, { kernelBytes: 100_000 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.requests.length = 0;
    log.length = 0;
    fault = () => undefined;
  });

  it('retries a 5xx with backoff and succeeds when the registry recovers', async () => {
    fault = failing(2, (request) => request.method === 'HEAD', { respond: 500, body: '{"errors":[{"code":"UNKNOWN","message":"disk hiccup"}]}' });
    expect(await client().blobExists('org/kernel', image.layer.digest)).toBe(false);
    expect(count('HEAD', '/blobs/')).toBe(3);
    expect(log).toEqual([
      expect.stringMatching(/^checking for blob sha256:\w+ in org\/kernel: registry .* answered HEAD with 500 .*; retry 1 of 4 in 5 ms$/),
      expect.stringMatching(/retry 2 of 4 in 10 ms$/),
    ]);
  });

  it('gives up after the configured retries on a permanent 5xx, naming registry and operation', async () => {
    fault = (request) => (request.method === 'GET' ? { respond: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}' } : undefined);
    await expect(client({ retries: 2 }).getManifest('org/kernel', '6.12.1')).rejects.toMatchObject({
      message: `registry ${proxy.url}: fetching manifest org/kernel:6.12.1 failed after 3 attempts: registry ${proxy.url} answered GET with 503 UNAVAILABLE: maintenance`,
      fix: expect.stringContaining('is up and reachable'),
    });
    expect(count('GET', '/manifests/')).toBe(3);
  });

  it('does not retry a 4xx', async () => {
    fault = (request) => (request.method === 'GET' ? { respond: 400, body: '{"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]}' } : undefined);
    await expect(client().getManifest('org/kernel', '6.12.1')).rejects.toThrow(/refused to send manifest org\/kernel:6\.12\.1: 400 NAME_INVALID: invalid repository name/);
    expect(count('GET', '/manifests/')).toBe(1);
  });

  it('restarts the upload when the connection is reset mid-upload, and the push succeeds', async () => {
    fault = failing(1, isLayerUpload, { resetAfterBodyBytes: 16 * 1024 });
    const pushed = await pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/reset' });
    expect(pushed).toMatchObject({ manifestDigest: image.manifestDigest, uploadedBlobs: 2 });
    // config: 1 session; layer: the broken one and a fresh one.
    expect(count('POST', '/blobs/uploads/')).toBe(3);
    expect(log.some((line) => line.includes(`uploading blob ${image.layer.digest} to org/reset: connection to registry`) && line.includes('retry 1 of 4'))).toBe(true);
    expect(await client().getManifest('org/reset', image.manifestDigest)).toBeDefined();
  });

  it('restarts a chunked upload from the first chunk when a chunk fails', async () => {
    let patches = 0;
    const isSecondChunk = (request: ProxiedRequest) => request.method === 'PATCH' && (patches += 1) === 2;
    fault = failing(1, isSecondChunk, { resetAfterBodyBytes: 1024 });
    const chunkBytes = 32 * 1024;
    const pushed = await pushImageLayout({ client: client({ uploadChunkBytes: chunkBytes }), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/chunk-reset' });
    expect(pushed.manifestDigest).toBe(image.manifestDigest);
    const chunks = Math.ceil(image.layer.size / chunkBytes);
    expect(count('PATCH', '/blobs/uploads/')).toBe(2 + chunks);
    expect(count('POST', '/blobs/uploads/')).toBe(3);
  });

  it('fails after bounded retries when uploads keep breaking, and leaves no tag or manifest behind', async () => {
    fault = (request) => (isLayerUpload(request) ? { resetAfterBodyBytes: 1024 } : undefined);
    const failing = client({ retries: 2 });
    const push = async () => {
      const pushed = await pushImageLayout({ client: failing, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/broken' });
      await pushIndex({ client: failing, repository: 'org/broken', tags: ['6.12.1', '6.12.1-0123abcd'], manifests: [pushed.manifest] });
    };
    await expect(push()).rejects.toThrow(
      new RegExp(`^registry ${proxy.url}: uploading blob ${image.layer.digest} to org/broken failed after 3 attempts: connection to registry`),
    );
    expect(count('PUT', image.layer.digest.replace(':', '%3A'))).toBe(3);
    fault = () => undefined;
    const reader = client();
    expect(await reader.getManifest('org/broken', '6.12.1')).toBeUndefined();
    expect(await reader.getManifest('org/broken', '6.12.1-0123abcd')).toBeUndefined();
    expect(await reader.getManifest('org/broken', image.manifestDigest)).toBeUndefined();
  });

  it('downloads a blob again when the connection drops mid-body', async () => {
    const layer = await fs.readFile(`${image.layoutDir}/blobs/sha256/${image.layer.digest.slice(7)}`);
    const isLayerDownload = (request: ProxiedRequest) => request.method === 'GET' && request.path.endsWith(`/blobs/${image.layer.digest}`);
    await pushImageLayout({ client: client(), layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/download' });
    fault = failing(1, isLayerDownload, { respond: 200, body: layer, headers: { 'content-type': 'application/octet-stream' }, cutAfterBytes: 20_000 });
    const file = `${dir}/downloaded`;
    await client().downloadBlob('org/download', image.layer, file);
    expect((await fs.readFile(file)).equals(layer)).toBe(true);
    expect(count('GET', `/blobs/${image.layer.digest}`)).toBe(2);
  });

  it('stops a download that runs past the blob size, and keeps no file', async () => {
    fault = (request) => (request.method === 'GET' ? { respond: 200, body: Buffer.alloc(image.layer.size + 10) } : undefined);
    const file = `${dir}/too-long`;
    await expect(client().downloadBlob('org/kernel', image.layer, file)).rejects.toThrow(
      `blob ${image.layer.digest} from org/kernel at registry ${proxy.url} is longer than the ${image.layer.size} bytes its descriptor says`,
    );
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails when the registry stores a manifest under another digest than its content', async () => {
    fault = (request) =>
      request.method === 'PUT' && request.path.includes('/manifests/')
        ? { respond: 201, headers: { 'docker-content-digest': `sha256:${'0'.repeat(64)}` } }
        : undefined;
    await expect(client().putManifest('org/kernel', 'v1', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}'))).rejects.toThrow(
      /stored manifest org\/kernel:v1 as sha256:0{64}, but its content is sha256:/,
    );
  });

  it('refuses a manifest fetched by digest whose bytes do not hash to it', async () => {
    const otherManifest = { respond: 200, body: '{"schemaVersion":2}', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } };
    fault = (request) => (request.method === 'GET' ? otherManifest : undefined);
    await expect(client().getManifest('org/kernel', image.manifestDigest)).rejects.toThrow(/sent manifest org\/kernel@sha256:\w+ whose content hashes to sha256:/);
  });
});
