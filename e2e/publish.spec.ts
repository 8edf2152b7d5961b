import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import * as net from 'net';
import { startTestRegistry, TestRegistry } from '../libs/registry/src/test-support/registry-server';
import { createTestCertificates, TestCertificates } from '../libs/registry/src/test-support/test-certificates';
import { createKernelWorkspace, REPO_ROOT, TempWorkspace } from './support/temp-workspace';

// Publishing through the real nx CLI to a real CNCF distribution registry on loopback.
const sharedWorkDir = process.env.KERNEL_WORK_DIR || path.join(REPO_ROOT, '.kbuild');

const kernelWorkspace = (name: string) => createKernelWorkspace(name, ['kernels/6.12', 'kernels/6.12-virt']);

async function inspectRaw(registry: TestRegistry, reference: string): Promise<{ mediaType: string; manifests?: { digest: string; platform: { architecture: string } }[] }> {
  const { stdout } = await execa('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.url}/${reference}`]);
  return JSON.parse(stdout);
}

describe('push to a registry', () => {
  let registry: TestRegistry;
  let workspace: TempWorkspace;
  const env = () => ({ KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: registry.url });
  const record = (ws: TempWorkspace, arch: string) => JSON.parse(fs.readFileSync(path.join(ws.root, 'dist/kernels/6.12-virt', arch, 'image.json'), 'utf8'));

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await kernelWorkspace('publish');
  });

  afterAll(async () => {
    workspace?.dispose();
    await registry?.stop();
  });

  it('pushes <ver> and <ver>-<hash> as an index that skopeo reads, with our digest for amd64', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], { env: env() });
    const image = record(workspace, 'x86_64');
    expect(result.all).toContain(`pushed ${registry.url}/linuxkit/kernel:${image.tags[1]} and :${image.tags[0]} for x86_64`);
    for (const tag of image.tags) {
      const index = await inspectRaw(registry, `linuxkit/kernel:${tag}`);
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(index.manifests?.map((entry) => [entry.platform.architecture, entry.digest])).toEqual([['amd64', image.manifestDigest]]);
    }
    const copied = path.join(workspace.root, 'copied');
    await execa('skopeo', ['copy', '--src-tls-verify=false', '--override-arch=amd64', `docker://${registry.url}/linuxkit/kernel:${image.tags[1]}`, `oci:${copied}:x`]);
    expect(fs.existsSync(path.join(copied, 'index.json'))).toBe(true);
  });

  it('uploads nothing the second time and says it is up to date', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], { env: env() });
    expect(result.all).toMatch(/is up to date \(sha256:[0-9a-f]{64} for x86_64\): nothing uploaded/);
  });

  it('merges a second arch into the index instead of replacing it', async () => {
    await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=aarch64', '--outputStyle=stream'], { env: env() });
    const [x86, arm] = [record(workspace, 'x86_64'), record(workspace, 'aarch64')];
    const index = await inspectRaw(registry, `linuxkit/kernel:${x86.tags[0]}`);
    expect(index.manifests?.map((entry) => [entry.platform.architecture, entry.digest])).toEqual([
      ['amd64', x86.manifestDigest],
      ['arm64', arm.manifestDigest],
    ]);
  });

  it('pushes under another organisation with --org', async () => {
    await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--org=myorg', '--outputStyle=stream'], { env: env() });
    const index = await inspectRaw(registry, `myorg/kernel:${record(workspace, 'x86_64').tags[1]}`);
    expect(index.manifests).toHaveLength(1);
  });

  it('lets a second machine with an empty Nx cache pull the image instead of compiling it', async () => {
    const second = await kernelWorkspace('second-machine');
    const ownWorkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-second-work-'));
    try {
      // Its own work dir and Nx cache: only the tarball store is shared (the download is not the point).
      const result = await second.nx(['run', 'kernel-6.12-virt:build', '--arch=x86_64', '--outputStyle=stream'], {
        env: { KERNEL_WORK_DIR: ownWorkDir, KERNEL_STORE: path.join(sharedWorkDir, 'store'), KERNEL_REGISTRY: registry.url },
      });
      expect(result.all).toMatch(/registry cache: pulled .* instead of compiling/);
      expect(result.all).not.toMatch(/make all:/);
      expect(record(second, 'x86_64').manifestDigest).toBe(record(workspace, 'x86_64').manifestDigest);
    } finally {
      second.dispose();
      fs.rmSync(ownWorkDir, { recursive: true, force: true });
    }
  });

  it('never pushes a build from uncommitted inputs', async () => {
    workspace.write('kernels/6.12-virt/NOTES', 'uncommitted\n');
    try {
      const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], { env: env(), reject: false });
      expect(result.exitCode).not.toBe(0);
      expect(result.all).toMatch(/was built from uncommitted inputs \(tag 6\.12\.118-virt-[0-9a-f]{12}-dirty\): dirty images are never pushed/);
    } finally {
      workspace.remove('kernels/6.12-virt/NOTES');
    }
  });

  it('explains a missing registry setting', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], { env: { KERNEL_WORK_DIR: sharedWorkDir }, reject: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(/no registry to push to[\s\S]*KERNEL_REGISTRY/);
  });
});

describe('push to a registry that needs a login', () => {
  let registry: TestRegistry;
  let workspace: TempWorkspace;
  const password = 's3cret-pa55word';

  beforeAll(async () => {
    registry = await startTestRegistry({ htpasswd: { user: 'builder', password } });
    workspace = await kernelWorkspace('publish-auth');
  });

  afterAll(async () => {
    workspace?.dispose();
    await registry?.stop();
  });

  it('says how to log in when there are no credentials', async () => {
    const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-config-'));
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], {
      env: { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: registry.url, DOCKER_CONFIG: dockerConfig },
      reject: false,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain(registry.url);
    expect(result.all).toMatch(/docker login/);
  });

  it('pushes with the credentials of the Docker config and never prints them', async () => {
    const dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-config-'));
    const auth = Buffer.from(`builder:${password}`).toString('base64');
    fs.writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.url]: { auth } } }));
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream', '--verbose'], {
      env: { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: registry.url, DOCKER_CONFIG: dockerConfig },
    });
    expect(result.all).toMatch(/pushed .*linuxkit\/kernel/);
    expect(result.all).not.toContain(password);
    expect(result.all).not.toContain(auth);
  });
});

describe('the CI fan-out: per-arch pushes joined by push-index', () => {
  let registry: TestRegistry;
  let workspace: TempWorkspace;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await kernelWorkspace('fan-out');
  });

  afterAll(async () => {
    workspace?.dispose();
    await registry?.stop();
  });

  it('pushes each arch under <ver>-<hash>-<arch> and joins them into one index', async () => {
    const env = { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: registry.url };
    for (const arch of ['x86_64', 'aarch64']) {
      const result = await workspace.nx(['run', 'kernel-6.12-virt:push', `--arch=${arch}`, '--index=false', '--outputStyle=stream'], { env });
      expect(result.all).toMatch(/run push-index to join the arches/);
    }
    const image = JSON.parse(fs.readFileSync(path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64/image.json'), 'utf8'));
    await expect(inspectRaw(registry, `linuxkit/kernel:${image.tags[0]}`)).rejects.toThrow();
    const joined = await workspace.nx(['run', 'kernel-6.12-virt:push-index', '--outputStyle=stream'], { env });
    expect(joined.all).toMatch(/list amd64, arm64/);
    const index = await inspectRaw(registry, `linuxkit/kernel:${image.tags[0]}`);
    expect(index.manifests?.map((entry) => entry.platform.architecture)).toEqual(['amd64', 'arm64']);
  });
});

describe('push to a registry over TLS', () => {
  let registry: TestRegistry;
  let certificates: TestCertificates;
  let workspace: TempWorkspace;
  const https = () => `https://${registry.url}`;
  const repositoriesIn = (storageDir: string) => {
    const dir = path.join(storageDir, 'docker/registry/v2/repositories');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  beforeAll(async () => {
    certificates = await createTestCertificates();
    registry = await startTestRegistry({ tls: { certificate: certificates.certificate, key: certificates.key } });
    workspace = await kernelWorkspace('publish-tls');
  });

  afterAll(async () => {
    workspace?.dispose();
    await registry?.stop();
    if (certificates) fs.rmSync(certificates.dir, { recursive: true, force: true });
  });

  it('verifies the certificate by default: one signed by an unknown CA is refused at once, naming the fix, and nothing is pushed', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], {
      env: { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: https() },
      reject: false,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain(`TLS to registry ${registry.url} (${registry.url}) failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE`);
    expect(result.all).toContain('NODE_EXTRA_CA_CERTS');
    // A certificate problem is not retried: the message comes once, not after a round of backoff.
    expect(result.all).not.toMatch(/retry \d+ of/);
    expect(repositoriesIn(registry.storageDir)).toEqual([]);
  });

  it('pushes once the CA is trusted', async () => {
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], {
      env: { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: https(), NODE_EXTRA_CA_CERTS: certificates.caFile },
    });
    expect(result.all).toMatch(/pushed .*linuxkit\/kernel:.* for x86_64/);
    expect(repositoriesIn(registry.storageDir)).toEqual(['linuxkit']);
    const { stdout } = await execa('skopeo', ['inspect', '--raw', `--cert-dir=${certificates.trustDir}`, `docker://${registry.url}/linuxkit/kernel:${record(workspace)}`]);
    expect(JSON.parse(stdout).mediaType).toBe('application/vnd.oci.image.index.v1+json');
  });

  const record = (ws: TempWorkspace) => JSON.parse(fs.readFileSync(path.join(ws.root, 'dist/kernels/6.12-virt/x86_64/image.json'), 'utf8')).tags[0];
});

describe('push to a registry that is not there', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await kernelWorkspace('publish-unreachable');
  });

  afterAll(() => workspace?.dispose());

  it('retries a bounded number of times, then names the registry and what failed', async () => {
    // A port that was just free and has nothing listening on it.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const result = await workspace.nx(['run', 'kernel-6.12-virt:push', '--arch=x86_64', '--outputStyle=stream'], {
      env: { KERNEL_WORK_DIR: sharedWorkDir, KERNEL_REGISTRY: `127.0.0.1:${port}` },
      reject: false,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toMatch(new RegExp(`failed after \\d+ attempts: connection to registry 127\\.0\\.0\\.1:${port} failed: ECONNREFUSED`));
    expect(result.all).toContain(`check that 127.0.0.1:${port} is up and reachable from here`);
    // The built image is still there and valid for the next push.
    expect(fs.existsSync(path.join(workspace.root, 'dist/kernels/6.12-virt/x86_64/oci/index.json'))).toBe(true);
  });
});
