import { promises as fs } from 'fs';
import path from 'path';
import { isKernelBuildError, KernelBuildError } from '@linuxkit-kernels/errors';
import { pushImageLayout } from './push-image-layout';
import { pushIndex } from './push-index';
import { createRegistryClient } from './registry-client';
import { FaultProxy, startFaultProxy } from './test-support/fault-proxy';
import { TestKernelLayout, makeTempDir, writeTestKernelLayout } from './test-support/kernel-layout';
import { TestRegistry, startTestRegistry } from './test-support/registry-server';
import { TokenServer, startTokenServer } from './test-support/token-server';

jest.setTimeout(30_000);

const USER = 'kernel-ci';
const PASSWORD = 's3cret-Pa55word-9f1c';
const BASIC_SECRET = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

async function failureOf(promise: Promise<unknown>): Promise<KernelBuildError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isKernelBuildError(error)) throw new Error(`expected a KernelBuildError, got ${String(error)}`);
  return error;
}

/** Everything a user could see of an error: none of it may hold a secret. */
function visibleText(error: KernelBuildError, log: string[]): string {
  return [error.describe(), error.stack ?? '', ...log].join('\n');
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(BASIC_SECRET);
}

describe('registry authentication', () => {
  let dir: string;
  let image: TestKernelLayout;
  beforeAll(async () => {
    dir = await makeTempDir('auth');
    image = await writeTestKernelLayout(dir);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  async function writeDockerConfig(name: string, config: unknown): Promise<string> {
    const file = path.join(dir, name, 'config.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(config));
    return file;
  }

  describe('against a registry behind htpasswd (Basic)', () => {
    let registry: TestRegistry;
    beforeAll(async () => {
      registry = await startTestRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    });
    afterAll(() => registry?.stop());

    it('fails with a clear 401 error naming registry and repository when no credentials are given', async () => {
      const log: string[] = [];
      const client = createRegistryClient({ registry: registry.url, log: (line) => log.push(line) });
      const error = await failureOf(pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' }));
      expect(error.message).toBe(`registry ${registry.url} requires credentials to pull org/kernel, and none were given`);
      expect(error.fix).toContain(`docker login ${registry.url}`);
    });

    it('pushes with the credentials docker login wrote (auths.<registry>.auth), never showing them', async () => {
      const dockerConfigPath = await writeDockerConfig('docker-auth', { auths: { [registry.url]: { auth: BASIC_SECRET } } });
      const log: string[] = [];
      const client = createRegistryClient({ registry: registry.url, credentials: 'docker-config', dockerConfigPath, log: (line) => log.push(line) });
      const pushed = await pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
      await pushIndex({ client, repository: 'org/kernel', tags: ['6.12.1'], manifests: [pushed.manifest] });
      expect(pushed.uploadedBlobs).toBe(2);
      expect(log.length).toBeGreaterThan(0);
      expectNoSecrets(log.join('\n'));
    });

    it('reads username/password entries from $DOCKER_CONFIG/config.json, keyed by URL', async () => {
      const configDir = path.dirname(
        await writeDockerConfig('docker-env', { auths: { [`http://${registry.url}/v2/`]: { username: USER, password: PASSWORD } } }),
      );
      const saved = process.env.DOCKER_CONFIG;
      process.env.DOCKER_CONFIG = configDir;
      try {
        const client = createRegistryClient({ registry: registry.url, credentials: 'docker-config' });
        expect(await client.getManifest('org/kernel', '6.12.1')).toMatchObject({ mediaType: 'application/vnd.oci.image.index.v1+json' });
      } finally {
        if (saved === undefined) delete process.env.DOCKER_CONFIG;
        else process.env.DOCKER_CONFIG = saved;
      }
    });

    it('gets credentials from a credential helper named by credsStore', async () => {
      const binDir = path.join(dir, 'bin');
      await fs.mkdir(binDir, { recursive: true });
      const helper = path.join(binDir, 'docker-credential-test-store');
      await fs.writeFile(
        helper,
        [
          '#!/bin/sh',
          'read server',
          `[ "$1" = get ] && [ "$server" = "${registry.url}" ] || exit 1`,
          `echo '{"ServerURL":"${registry.url}","Username":"${USER}","Secret":"${PASSWORD}"}'`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const dockerConfigPath = await writeDockerConfig('docker-helper', { auths: { [registry.url]: {} }, credsStore: 'test-store' });
      const savedPath = process.env.PATH;
      process.env.PATH = `${binDir}${path.delimiter}${savedPath}`;
      try {
        const client = createRegistryClient({ registry: registry.url, credentials: 'docker-config', dockerConfigPath });
        expect(await client.blobExists('org/kernel', image.layer.digest)).toBe(true);
      } finally {
        process.env.PATH = savedPath;
      }
    });

    it('says the docker config path when it has no entry for the registry', async () => {
      const dockerConfigPath = await writeDockerConfig('docker-other', { auths: { 'ghcr.io': { auth: BASIC_SECRET } } });
      const client = createRegistryClient({ registry: registry.url, credentials: 'docker-config', dockerConfigPath });
      const error = await failureOf(client.getManifest('org/kernel', '6.12.1'));
      expect(error.message).toContain('requires credentials to pull org/kernel');
      expect(error.fix).toBe(`run \`docker login ${registry.url}\` (credentials are read from ${dockerConfigPath})`);
    });

    it('rejects a wrong password with a 401 error that holds no secret, in message, fix, details or log', async () => {
      const wrongPassword = `${PASSWORD}-wrong`;
      const log: string[] = [];
      const client = createRegistryClient({
        registry: registry.url,
        credentials: { username: USER, password: wrongPassword },
        log: (line) => log.push(line),
      });
      const error = await failureOf(pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' }));
      expect(error.message).toBe(`registry ${registry.url} refused the credentials to pull org/kernel`);
      expect(error.details).toContain('401');
      const text = visibleText(error, log);
      expect(text).not.toContain(wrongPassword);
      expect(text).not.toContain(Buffer.from(`${USER}:${wrongPassword}`).toString('base64'));
    });
  });

  describe('against a registry that demands Bearer tokens', () => {
    let registry: TestRegistry;
    let tokens: TokenServer;
    let proxy: FaultProxy;
    beforeAll(async () => {
      registry = await startTestRegistry();
      tokens = await startTokenServer({ user: USER, password: PASSWORD, tokenField: 'access_token' });
      proxy = await startFaultProxy({ upstream: registry.url, fault: (request) => tokens.requireBearer(request) });
    });
    afterAll(async () => {
      await proxy?.stop();
      await tokens?.stop();
      await registry?.stop();
    });
    beforeEach(() => {
      tokens.tokenRequests.length = 0;
    });

    it('gets a token from the realm with service, scope and the credentials, and reuses it per scope', async () => {
      const log: string[] = [];
      const client = createRegistryClient({ registry: proxy.url, credentials: { username: USER, password: PASSWORD }, log: (line) => log.push(line) });
      const pushed = await pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/kernel' });
      const [index] = await pushIndex({ client, repository: 'org/kernel', tags: ['6.12.1'], manifests: [pushed.manifest] });
      expect(index.platforms).toEqual([{ os: 'linux', architecture: 'amd64' }]);

      // One token for reading org/kernel (the blob checks, the index read-back), one for writing it.
      expect(tokens.tokenRequests).toEqual([
        { scopes: ['repository:org/kernel:pull'], service: tokens.service, authorized: true },
        { scopes: ['repository:org/kernel:pull,push'], service: tokens.service, authorized: true },
      ]);
      expectNoSecrets(log.join('\n'));
    });

    it('asks for pull on the source repository when mounting from it', async () => {
      const client = createRegistryClient({ registry: proxy.url, credentials: { username: USER, password: PASSWORD } });
      const pushed = await pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/copy', mountFrom: ['org/kernel'] });
      expect(pushed.mountedBlobs).toBe(2);
      expect(tokens.tokenRequests.map((request) => request.scopes)).toContainEqual(['repository:org/copy:pull,push', 'repository:org/kernel:pull']);
    });

    it('fails clearly when the token service refuses the credentials, without showing them', async () => {
      const log: string[] = [];
      const client = createRegistryClient({ registry: proxy.url, credentials: { username: USER, password: `${PASSWORD}x` }, log: (line) => log.push(line) });
      const error = await failureOf(client.getManifest('org/kernel', '6.12.1'));
      expect(error.message).toBe(`registry ${proxy.url} refused the credentials to pull org/kernel`);
      expect(error.details).toContain('UNAUTHORIZED: wrong credentials');
      expect(visibleText(error, log)).not.toContain(`${PASSWORD}x`);
    });

    it('says push was denied, not that the password is wrong, when the token lacks the push scope', async () => {
      const readOnly = await startTokenServer({ user: USER, password: PASSWORD, pullOnly: true });
      const gated = await startFaultProxy({ upstream: registry.url, fault: (request) => readOnly.requireBearer(request) });
      try {
        const client = createRegistryClient({ registry: gated.url, credentials: { username: USER, password: PASSWORD } });
        const error = await failureOf(pushImageLayout({ client, layoutDir: image.layoutDir, tag: '6.12.1', repository: 'org/other' }));
        expect(error.message).toBe(`registry ${gated.url} denied push access to org/other`);
        expect(error.fix).toContain(`docker login ${gated.url}`);
      } finally {
        await gated.stop();
        await readOnly.stop();
      }
    });

    it('fails clearly without credentials', async () => {
      const client = createRegistryClient({ registry: proxy.url });
      const error = await failureOf(client.blobExists('org/kernel', image.layer.digest));
      expect(error.message).toBe(`registry ${proxy.url} requires credentials to pull org/kernel, and none were given`);
    });
  });

  describe('with a fake registry (fetchImpl)', () => {
    const challenge = (header: string) =>
      (async () =>
        new Response(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }), {
          status: 401,
          headers: { 'www-authenticate': header },
        })) as unknown as typeof fetch;

    it('refuses to send credentials to a token realm over plain http on another host', async () => {
      const client = createRegistryClient({
        registry: 'registry.example.com',
        credentials: { username: USER, password: PASSWORD },
        fetchImpl: challenge('Bearer realm="http://auth.example.com/token",service="registry"'),
      });
      const error = await failureOf(client.getManifest('org/kernel', '6.12.1'));
      expect(error.message).toContain('refusing to send credentials there');
      expectNoSecrets(error.describe());
    });

    it('names a challenge scheme it cannot answer', async () => {
      const client = createRegistryClient({ registry: 'registry.example.com', fetchImpl: challenge('Negotiate') });
      await expect(client.getManifest('org/kernel', '6.12.1')).rejects.toThrow(/with a scheme this client does not speak \(Negotiate\)/);
    });
  });
});
