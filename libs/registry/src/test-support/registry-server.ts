import { ChildProcess, spawn } from 'child_process';
import execa from 'execa';
import { promises as fs } from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import tls from 'tls';

/**
 * A real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 for tests: its own
 * port, storage and config in a temp dir, optionally behind htpasswd Basic auth, optionally over TLS.
 */
export interface TestRegistry {
  /** `127.0.0.1:PORT`, as a registry name for createRegistryClient and skopeo. */
  url: string;
  port: number;
  /** Where it keeps blobs and manifests. */
  storageDir: string;
  stop(): Promise<void>;
}

export interface TestRegistryOptions {
  htpasswd?: { user: string; password: string };
  /** Serve https with this certificate and key (PEM files) instead of plain http. */
  tls?: { certificate: string; key: string };
}

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 3;

/** A port the kernel just gave out, so almost surely free (and never 5000). */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function registryConfig(port: number, storageDir: string, htpasswdFile: string | undefined, tlsFiles: TestRegistryOptions['tls']): string {
  // JSON is YAML, and needs no YAML writer.
  return JSON.stringify({
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: 'test-registry-upload-state-secret', ...(tlsFiles ? { tls: tlsFiles } : {}) },
    ...(htpasswdFile ? { auth: { htpasswd: { realm: 'test-registry', path: htpasswdFile } } } : {}),
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** GET /v2/ over plain http, or for a TLS registry a handshake that does not judge the certificate. */
function answers(port: number, tlsServed: boolean): Promise<boolean> {
  if (tlsServed) {
    return new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, timeout: 1_000 }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
  }
  return fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1_000) }).then(
    async (response) => {
      await response.body?.cancel();
      return true;
    },
    () => false,
  );
}

async function waitUntilServing(child: ChildProcess, port: number, tlsServed: boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`);
    const answered = await answers(port, tlsServed);
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry on 127.0.0.1:${port} did not answer GET /v2/ within ${READY_TIMEOUT_MS} ms: ${output()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
    child.kill('SIGKILL');
    await waitForExit(child, STOP_TIMEOUT_MS);
  }
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-test-'));
  const storageDir = path.join(dir, 'storage');
  await fs.mkdir(storageDir);
  let htpasswdFile: string | undefined;
  if (options.htpasswd) {
    htpasswdFile = path.join(dir, 'htpasswd');
    const { stdout } = await execa('htpasswd', ['-Bbn', options.htpasswd.user, options.htpasswd.password]);
    await fs.writeFile(htpasswdFile, `${stdout.trim()}\n`);
  }

  let lastError: unknown;
  // The port can be taken between asking for it and the registry binding it; try another then.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const port = await freeLoopbackPort();
    const configFile = path.join(dir, 'config.yml');
    await fs.writeFile(configFile, registryConfig(port, storageDir, htpasswdFile, options.tls));
    const child = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keepTail = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    try {
      await waitUntilServing(child, port, options.tls !== undefined, () => output);
    } catch (error) {
      lastError = error;
      await stopProcess(child);
      continue;
    }
    // Should the test process end without afterAll (a crash, a killed worker), take the registry with it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    let stopped: Promise<void> | undefined;
    return {
      url: `127.0.0.1:${port}`,
      port,
      storageDir,
      stop: () => {
        process.removeListener('exit', killOnExit);
        stopped ??= stopProcess(child).then(() => fs.rm(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  }
  await fs.rm(dir, { recursive: true, force: true });
  throw lastError;
}
