import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { AddressInfo } from 'net';
import * as openpgp from 'openpgp';
import { createKernelWorkspace, createTempWorkspace, TempWorkspace } from './support/temp-workspace';

// The plugin's generators through `nx g` in a temp workspace.
describe('nx g variant', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createKernelWorkspace('gen-variant', ['kernels/6.1', 'kernels/6.12']);
  });

  afterAll(() => workspace?.dispose());

  it('creates a flavour of the series the directory names (6.12, not 6.1) and Nx sees it at once', async () => {
    await workspace.nx(['g', '@linuxkit-kernels/nx-plugin:variant', '6.12-foo']);
    expect(fs.readFileSync(path.join(workspace.root, 'kernels/6.12-foo/kernel.yaml'), 'utf8')).toContain('extends: "6.12"');
    expect(fs.existsSync(path.join(workspace.root, 'kernels/6.12-foo/config-foo'))).toBe(true);
    const project = JSON.parse((await workspace.nx(['show', 'project', 'kernel-6.12-foo', '--json'])).stdout);
    expect(project.implicitDependencies).toEqual(['kernel-6.12']);
  });

  it('refuses a directory that extends no series', async () => {
    const result = await workspace.nx(['g', '@linuxkit-kernels/nx-plugin:variant', '6.13-foo'], { reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/'6\.13-foo' does not start with a series and a dash/);
  });
});

describe('nx g bump-versions against a loopback kernel.org', () => {
  let workspace: TempWorkspace;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Test Autosigner' }], format: 'object' });
    const sums = `${'d'.repeat(64)}  linux-6.6.70.tar.xz\n`;
    const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: sums }), signingKeys: privateKey });
    server = http.createServer((request, response) => {
      if (request.url === '/releases.json') {
        response.end(JSON.stringify({ releases: [{ moniker: 'longterm', version: '6.6.70', source: `${base}/v6.x/linux-6.6.70.tar.xz` }] }));
      } else if (request.url === '/v6.x/sha256sums.asc') {
        response.end(signed);
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    workspace = await createTempWorkspace('gen-bump');
    workspace.write('kernels/common/kernel.org-keyring.asc', publicKey.armor());
    workspace.write(
      'kernels/6.6/kernel.yaml',
      `# a kernel.org series\nversion: 6.6.60\nsource:\n  kind: kernel.org\n  url: ${base}/v6.x/linux-6.6.60.tar.xz\n  sha256: ${'a'.repeat(64)}\narches: [x86_64]\n`,
    );
    workspace.write('kernels/6.6/config-x86_64', 'CONFIG_LOCALVERSION="-linuxkit"\n');
    await workspace.commitAll('kernels');
  });

  afterAll(async () => {
    workspace?.dispose();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('prints what would change on --dry-run and writes nothing', async () => {
    const result = await workspace.nx(['g', '@linuxkit-kernels/nx-plugin:bump-versions', `--releasesUrl=${base}/releases.json`, '--dry-run']);
    expect(result.all).toContain('kernel-6.6: 6.6.60 -> 6.6.70');
    expect(result.all).toContain('UPDATE kernels/6.6/kernel.yaml');
    expect(fs.readFileSync(path.join(workspace.root, 'kernels/6.6/kernel.yaml'), 'utf8')).toContain('version: 6.6.60');
  });

  it('moves the series to the newest point release with the sha256 from the signed sums, keeping comments', async () => {
    await workspace.nx(['g', '@linuxkit-kernels/nx-plugin:bump-versions', `--releasesUrl=${base}/releases.json`, '--syncConfig=false']);
    const text = fs.readFileSync(path.join(workspace.root, 'kernels/6.6/kernel.yaml'), 'utf8');
    expect(text).toContain('# a kernel.org series');
    expect(text).toContain('version: 6.6.70');
    expect(text).toContain(`url: ${base}/v6.x/linux-6.6.70.tar.xz`);
    expect(text).toContain(`sha256: ${'d'.repeat(64)}`);
  });
});
