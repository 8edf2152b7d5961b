import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { aptDownloadError, AptTools, installedVersionFromStatus, systemApt } from './apt';
import { blobPath, ContentStore, hasBlob, openStore } from './content-store';
import { defaultSignatureUrl, fetchSource, SourceSpec } from './fetch-source';
import { sha256File } from './sha256';
import { buildDeb } from './__fixtures__/deb-fixtures';
import { LoopbackServer, serveBytes, startLoopbackServer } from './__fixtures__/loopback-server';
import { generateSigner, signDetached, writeKeyring } from './__fixtures__/pgp-fixtures';
import { compressFile, tarDirectory, writeSourceTree } from './__fixtures__/tar-fixtures';
import { listDir, useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(30_000);

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function expectNothingKept(store: ContentStore, sha256: string): Promise<void> {
  expect(await hasBlob(store, sha256)).toBe(false);
  expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
}

describe('defaultSignatureUrl', () => {
  it('replaces the compression suffix by .sign, as kernel.org names signatures', () => {
    expect(defaultSignatureUrl('https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.1.tar.xz')).toBe('https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.1.tar.sign');
    expect(defaultSignatureUrl('https://mirror/linux-6.1.tar.gz')).toBe('https://mirror/linux-6.1.tar.sign');
  });

  it('asks for signatureUrl when the URL is not a compressed tarball', () => {
    let error: unknown;
    try {
      defaultSignatureUrl('https://mirror/linux-6.12.zip');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(KernelBuildError);
    expect(error).toMatchObject({ message: expect.stringContaining('linux-6.12.zip: cannot derive the signature URL'), fix: 'set source.signatureUrl in kernel.yaml' });
  });
});

describe('fetchSource from kernel.org', () => {
  const temp = useTempDirs();
  let server: LoopbackServer;
  let keyring: string;
  let keyringDir: string;
  let tarball: Buffer;
  let sha256: string;
  let store: ContentStore;
  const spec = (mirror: string, overrides: Partial<Extract<SourceSpec, { kind: 'kernel.org' }>> = {}): SourceSpec => ({
    kind: 'kernel.org',
    url: server.url(`/${mirror}/linux-6.12.1.tar.xz`),
    sha256,
    ...overrides,
  });

  beforeAll(async () => {
    const fixtures = await fs.mkdtemp(path.join(os.tmpdir(), 'source-spec-kernel-org-'));
    keyringDir = fixtures;
    const [signer, stranger] = await Promise.all([generateSigner('Greg Kroah-Hartman'), generateSigner('Mallory')]);
    await writeSourceTree(fixtures, 'linux-6.12.1');
    const tar = await tarDirectory(fixtures, 'linux-6.12.1', 'linux-6.12.1');
    const tarBytes = await fs.readFile(tar);
    tarball = await fs.readFile(await compressFile(tar, 'xz'));
    sha256 = sha256Of(tarball);
    keyring = await writeKeyring(path.join(fixtures, 'kernel.org.asc'), signer);
    const good = await signDetached(tarBytes, signer);
    const bad = await signDetached(tarBytes, stranger);
    const corrupted = Buffer.from((await signDetached(tarBytes, signer, 'binary')) as Uint8Array);
    corrupted[corrupted.length - 12] ^= 0xff;
    const routes: Record<string, ReturnType<typeof serveBytes>> = {};
    for (const [mirror, signature] of [['good', good], ['stranger', bad], ['corrupt', corrupted], ['unsigned', undefined]] as const) {
      routes[`/${mirror}/linux-6.12.1.tar.xz`] = serveBytes(tarball);
      if (signature) routes[`/${mirror}/linux-6.12.1.tar.sign`] = serveBytes(Buffer.from(signature));
    }
    routes['/elsewhere/signature.asc'] = serveBytes(Buffer.from(good));
    server = await startLoopbackServer(routes);
  });
  afterAll(async () => {
    await server.close();
    await fs.rm(keyringDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    store = openStore(await temp.make());
    server.requests.length = 0;
  });

  it('downloads tarball and signature, checks both, and keeps the tarball', async () => {
    const lines: string[] = [];
    const result = await fetchSource(spec('good'), { store, keyringPath: keyring, log: (line) => lines.push(line) });

    expect(result).toEqual({ tarballPath: blobPath(store, sha256), sha256, fetched: true });
    expect(await sha256File(result.tarballPath)).toBe(sha256);
    expect(server.requests).toEqual(['GET /good/linux-6.12.1.tar.sign', 'GET /good/linux-6.12.1.tar.xz']);
    expect(lines.join('\n')).toMatch(/good signature from [0-9a-f]{16} \(Greg Kroah-Hartman/);
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('makes no request at all when the store already has the tarball', async () => {
    await fetchSource(spec('good'), { store, keyringPath: keyring });
    server.requests.length = 0;

    const again = await fetchSource(spec('good'), { store, keyringPath: path.join(keyringDir, 'not-even-read.asc') });
    expect(again).toEqual({ tarballPath: blobPath(store, sha256), sha256, fetched: false });
    expect(server.requests).toEqual([]);
  });

  it('uses signatureUrl when kernel.yaml gives one', async () => {
    await fetchSource(spec('unsigned', { signatureUrl: server.url('/elsewhere/signature.asc') }), { store, keyringPath: keyring });
    expect(server.requests).toEqual(['GET /elsewhere/signature.asc', 'GET /unsigned/linux-6.12.1.tar.xz']);
  });

  it('refuses a signature by a key outside the keyring before downloading the tarball, keeping nothing', async () => {
    await expect(fetchSource(spec('stranger'), { store, keyringPath: keyring })).rejects.toThrow(/stranger\/linux-6\.12\.1\.tar\.xz: .*stranger\/linux-6\.12\.1\.tar\.sign was made by key [0-9a-f]{16}, which is not in keyring/);
    expect(server.requests).toEqual(['GET /stranger/linux-6.12.1.tar.sign']);
    await expectNothingKept(store, sha256);
  });

  it('refuses a corrupted signature, keeping nothing', async () => {
    await expect(fetchSource(spec('corrupt'), { store, keyringPath: keyring })).rejects.toThrow(/corrupt\/linux-6\.12\.1\.tar\.xz: PGP signature check failed/);
    await expectNothingKept(store, sha256);
  });

  it('fails when the signature is missing, naming its URL, before downloading the tarball', async () => {
    const failure = fetchSource(spec('unsigned'), { store, keyringPath: keyring });
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(`GET ${server.url('/unsigned/linux-6.12.1.tar.sign')}: HTTP 404 Not Found`);
    expect(server.requests).toEqual(['GET /unsigned/linux-6.12.1.tar.sign']);
    await expectNothingKept(store, sha256);
  });

  it('refuses a tarball whose sha256 is not the one in kernel.yaml, keeping nothing', async () => {
    const wrong = '0'.repeat(64);
    await expect(fetchSource(spec('good', { sha256: wrong }), { store, keyringPath: keyring })).rejects.toThrow(`sha256 mismatch: expected ${wrong}, got ${sha256}`);
    await expectNothingKept(store, wrong);
  });

  it('fails on a missing keyring before any request', async () => {
    await expect(fetchSource(spec('good'), { store, keyringPath: path.join(keyringDir, 'absent.asc') })).rejects.toThrow(/keyring .*absent\.asc not found/);
    expect(server.requests).toEqual([]);
  });
});

describe('fetchSource from apt', () => {
  const temp = useTempDirs();
  const tarball = Buffer.from('pretend this is linux-source-6.12.tar.xz');
  const sha256 = sha256Of(tarball);
  const file = 'usr/src/linux-source-6.12.tar.xz';
  const spec: SourceSpec = { kind: 'apt', package: 'linux-source-6.12', version: '6.12.118-1', file, sha256 };

  /** An apt that has `linux-source-6.12 6.12.118-1` to download and `installed` installed. */
  function fakeApt(installed: string | undefined, calls: string[]): AptTools {
    return {
      installedVersion: async (name) => (calls.push(`installedVersion ${name}`), installed),
      downloadDeb: async (name, version, dir) => {
        calls.push(`downloadDeb ${name}=${version}`);
        if (version !== '6.12.118-1') throw aptDownloadError(name, version, `E: Version '${version}' for '${name}' was not found`);
        return buildDeb(dir, name, version, { [file]: tarball });
      },
    };
  }

  it('takes the file of the installed package when dpkg has exactly that version', async () => {
    const root = await temp.make();
    const store = openStore(path.join(root, 'store'));
    const installedFile = path.join(root, 'usr/src/linux-source-6.12.tar.xz');
    await fs.mkdir(path.dirname(installedFile), { recursive: true });
    await fs.writeFile(installedFile, tarball);
    const calls: string[] = [];

    const result = await fetchSource({ ...spec, file: path.relative('/', installedFile) }, { store, keyringPath: '/unused', apt: fakeApt('6.12.118-1', calls) });
    expect(result).toEqual({ tarballPath: blobPath(store, sha256), sha256, fetched: true });
    expect(calls).toEqual(['installedVersion linux-source-6.12']);
  });

  it('downloads the .deb and takes the file out of it when another version is installed', async () => {
    const store = openStore(await temp.make());
    const calls: string[] = [];
    const result = await fetchSource(spec, { store, keyringPath: '/unused', apt: fakeApt('6.12.99-1', calls) });

    expect(calls).toEqual(['installedVersion linux-source-6.12', 'downloadDeb linux-source-6.12=6.12.118-1']);
    expect(await fs.readFile(result.tarballPath, 'utf8')).toBe(tarball.toString());
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('names package, version and the fix when apt does not have the version', async () => {
    const store = openStore(await temp.make());
    const failure = fetchSource({ ...spec, version: '6.12.200-1' }, { store, keyringPath: '/unused', apt: fakeApt(undefined, []) });
    await expect(failure).rejects.toThrow('apt has no linux-source-6.12 version 6.12.200-1');
    await expect(failure).rejects.toMatchObject({ fix: expect.stringContaining('apt-get update') });
    expect(await listDir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('refuses a packaged file whose sha256 differs from kernel.yaml, keeping nothing', async () => {
    const store = openStore(await temp.make());
    const wrong = 'e'.repeat(64);
    await expect(fetchSource({ ...spec, sha256: wrong }, { store, keyringPath: '/unused', apt: fakeApt(undefined, []) })).rejects.toThrow(
      `linux-source-6.12_6.12.118-1_all.deb:/${file}: sha256 mismatch: expected ${wrong}, got ${sha256}`,
    );
    await expectNothingKept(store, wrong);
  });
});

describe('the system apt', () => {
  const temp = useTempDirs();
  const installed = execa.sync('dpkg-query', ['-W', '-f=${Status}\t${Version}', 'linux-source-6.12'], { reject: false });
  const installedVersion = installedVersionFromStatus(installed.stdout);
  const whenInstalled = installedVersion ? it : it.skip;
  if (!installedVersion) {
    console.warn('skipping the installed linux-source-6.12 case: dpkg-query does not list linux-source-6.12 as installed');
  }

  it('reads the installed version from dpkg-query status lines', () => {
    expect(installedVersionFromStatus('install ok installed\t6.12.118-1~deb12u1')).toBe('6.12.118-1~deb12u1');
    expect(installedVersionFromStatus('deinstall ok config-files\t6.12.118-1')).toBeUndefined();
    expect(installedVersionFromStatus('')).toBeUndefined();
  });

  it('reports a package that is not installed as such', async () => {
    expect(await systemApt.installedVersion('no-such-package-for-linuxkit-tests')).toBeUndefined();
  });

  whenInstalled('takes /usr/src/linux-source-6.12.tar.xz from the installed linux-source-6.12', async () => {
    const store = openStore(await temp.make());
    const installedFile = '/usr/src/linux-source-6.12.tar.xz';
    const sha256 = await sha256File(installedFile);
    const result = await fetchSource(
      { kind: 'apt', package: 'linux-source-6.12', version: installedVersion!, file: 'usr/src/linux-source-6.12.tar.xz', sha256 },
      { store, keyringPath: '/unused', apt: { ...systemApt, downloadDeb: () => Promise.reject(new Error('must not download')) } },
    );
    expect(result.tarballPath).toBe(blobPath(store, sha256));
  });

  it('turns apt-get download of a version it does not know into a KernelBuildError with the fix', async () => {
    const dir = await temp.make();
    const failure = systemApt.downloadDeb('linux-source-6.12', '0.0~not-a-version', dir);
    await expect(failure).rejects.toThrow('apt has no linux-source-6.12 version 0.0~not-a-version');
    await expect(failure).rejects.toMatchObject({ fix: expect.stringMatching(/apt-get update.*kernel\.yaml/) });
  });
});
