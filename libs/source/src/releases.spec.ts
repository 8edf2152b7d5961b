import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { AddressInfo } from 'net';
import * as openpgp from 'openpgp';
import { generateSigner } from './__fixtures__/pgp-fixtures';
import { compareKernelVersions, findKernelOrgBump, newerPointRelease, parseSha256Sums, upstreamOfDebianVersion } from './releases';

const releases = [
  { moniker: 'mainline', version: '6.19-rc3', source: 'https://example.invalid/linux-6.19-rc3.tar.gz' },
  { moniker: 'stable', version: '6.18.2', source: 'https://example.invalid/v6.x/linux-6.18.2.tar.xz' },
  { moniker: 'longterm', version: '6.12.120', source: 'https://example.invalid/v6.x/linux-6.12.120.tar.xz' },
  { moniker: 'longterm', version: '6.1.200', source: 'https://example.invalid/v6.x/linux-6.1.200.tar.xz' },
  { moniker: 'linux-next', version: 'next-20261203', source: null },
];

describe('choosing a version bump', () => {
  it('moves a series to the newest point release of its own line only', () => {
    expect(newerPointRelease(releases, '6.12.118')?.version).toBe('6.12.120');
    expect(newerPointRelease(releases, '6.1.192')?.version).toBe('6.1.200');
    expect(newerPointRelease(releases, '6.12.120')).toBeUndefined();
    expect(newerPointRelease(releases, '6.13.1')).toBeUndefined();
  });

  it('compares versions numerically', () => {
    expect(compareKernelVersions('6.12.9', '6.12.10')).toBeLessThan(0);
    expect(compareKernelVersions('6.1', '6.1.0')).toBe(0);
  });

  it('reads sha256sums lines and Debian upstream versions', () => {
    expect(parseSha256Sums(`${'a'.repeat(64)}  linux-6.12.120.tar.xz\nnoise\n`).get('linux-6.12.120.tar.xz')).toBe('a'.repeat(64));
    expect(upstreamOfDebianVersion('6.12.118-1~deb12u1')).toBe('6.12.118');
    expect(upstreamOfDebianVersion('6.1.192-3')).toBe('6.1.192');
  });
});

describe('findKernelOrgBump against a loopback kernel.org', () => {
  let server: http.Server;
  let base: string;
  let keyringPath: string;
  let signedSums: string;
  let forgedSums: string;
  let serveForged = false;

  beforeAll(async () => {
    const signer = await generateSigner('Test Autosigner');
    const other = await generateSigner('Someone Else');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'releases-'));
    keyringPath = path.join(dir, 'keyring.asc');
    fs.writeFileSync(keyringPath, signer.armoredPublicKey);
    const sums = `${'b'.repeat(64)}  linux-6.12.120.tar.xz\n${'c'.repeat(64)}  linux-6.1.200.tar.xz\n`;
    signedSums = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: sums }), signingKeys: signer.privateKey });
    forgedSums = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: sums }), signingKeys: other.privateKey });
    server = http.createServer((request, response) => {
      if (request.url === '/releases.json') {
        response.end(JSON.stringify({ releases: releases.map((release) => ({ ...release, source: release.source?.replace('https://example.invalid', base) ?? null })) }));
      } else if (request.url === '/v6.x/sha256sums.asc') {
        response.end(serveForged ? forgedSums : signedSums);
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('returns the new version, its url and the sha256 from the signed sums', async () => {
    const bump = await findKernelOrgBump({ releasesUrl: `${base}/releases.json`, current: '6.12.118', keyringPath });
    expect(bump).toEqual({ version: '6.12.120', url: `${base}/v6.x/linux-6.12.120.tar.xz`, sha256: 'b'.repeat(64) });
  });

  it('refuses sums signed by a key outside the keyring', async () => {
    serveForged = true;
    try {
      await expect(findKernelOrgBump({ releasesUrl: `${base}/releases.json`, current: '6.1.192', keyringPath })).rejects.toThrow(/signature does not verify/);
    } finally {
      serveForged = false;
    }
  });

  it('finds nothing to do when the series is current', async () => {
    expect(await findKernelOrgBump({ releasesUrl: `${base}/releases.json`, current: '6.12.120', keyringPath })).toBeUndefined();
  });
});
