import execa from 'execa';
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { isDockerHub } from './registry-endpoint';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** The parts of `~/.docker/config.json` that say how to log in to a registry. */
export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Where the credentials for one registry are, according to a docker config file. */
export type DockerConfigCredentialSource =
  | { kind: 'inline'; credentials: RegistryCredentials }
  | { kind: 'helper'; helper: string; serverUrl: string };

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HELPER_TIMEOUT_MS = 15_000;
// docker-credential-helpers report a missing entry with this text and exit 1.
const HELPER_NOT_FOUND = /credentials not found/i;
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

/** `dockerConfigPath` if given, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI does. */
export function resolveDockerConfigPath(explicitPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicitPath) return path.resolve(explicitPath);
  if (env.DOCKER_CONFIG) return path.resolve(env.DOCKER_CONFIG, 'config.json');
  return path.join(os.homedir(), '.docker', 'config.json');
}

/** `https://127.0.0.1:5001/v1/` and `127.0.0.1:5001` are the same key to `docker login`. */
function normaliseRegistryKey(key: string): string {
  return key.replace(/^https?:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function namesOf(registry: string): Set<string> {
  return new Set(isDockerHub(registry) ? ['docker.io', 'index.docker.io', 'registry-1.docker.io'] : [registry.toLowerCase()]);
}

function lookUp<T>(entries: Record<string, T> | undefined, registry: string): T | undefined {
  const names = namesOf(registry);
  const key = Object.keys(entries ?? {}).find((candidate) => names.has(normaliseRegistryKey(candidate)));
  return key === undefined ? undefined : entries![key];
}

const unsupportedIdentityToken = (registry: string, configPath: string) =>
  new KernelBuildError(
    `${configPath} holds an identity token for ${registry}, which this client cannot use`,
    `log in with a username and password or access token instead: docker login -u <user> ${registry}`,
  );

/**
 * Finds how to log in to `registry` in a parsed docker config. A credential helper named for
 * the registry wins, then an inline `auths` entry, then the default `credsStore`: inline
 * entries come before the store so a CI job that writes `auths` works on a machine whose
 * config also names a desktop keychain it cannot reach.
 */
export function findDockerConfigCredentials(
  config: DockerConfigFile,
  registry: string,
  configPath: string,
): DockerConfigCredentialSource | undefined {
  const serverUrl = isDockerHub(registry) ? DOCKER_HUB_SERVER_URL : registry;
  const helper = lookUp(config.credHelpers, registry);
  if (helper) return { kind: 'helper', helper, serverUrl };

  const entry = lookUp(config.auths, registry);
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new KernelBuildError(
        `the auths entry for ${registry} in ${configPath} is not base64 of user:password`,
        `log in again: docker login ${registry}`,
      );
    }
    return { kind: 'inline', credentials: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } };
  }
  if (entry?.username && entry.password) {
    return { kind: 'inline', credentials: { username: entry.username, password: entry.password } };
  }
  if (entry?.identitytoken) throw unsupportedIdentityToken(registry, configPath);
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore, serverUrl };
  return undefined;
}

async function runCredentialHelper(
  source: { helper: string; serverUrl: string },
  registry: string,
  configPath: string,
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${source.helper}`;
  if (!HELPER_NAME.test(source.helper)) {
    throw new KernelBuildError(`${configPath} names the credential helper '${source.helper}', which is not a program name`);
  }
  // Our own timer rather than execa's `timeout`, which is left pending when the spawn itself fails.
  const child = execa(program, ['get'], { input: source.serverUrl, reject: false });
  const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
  const result = await child.finally(() => clearTimeout(timer));
  if ((result as { code?: string }).code === 'ENOENT' || (result.failed && result.exitCode === undefined)) {
    throw new KernelBuildError(
      `${configPath} says the credentials for ${registry} are kept by ${program}, which is not on PATH`,
      `install ${program}, or log in so that ${configPath} holds the credentials: docker login ${registry}`,
    );
  }
  if (result.exitCode !== 0) {
    if (HELPER_NOT_FOUND.test(`${result.stdout}\n${result.stderr}`)) return undefined;
    // The helper's output is not quoted: on some helpers it echoes what it was given.
    throw new KernelBuildError(
      `${program} failed (exit ${result.exitCode}) reading the credentials for ${registry}`,
      `check that ${program} works: echo ${source.serverUrl} | ${program} get`,
    );
  }
  let answer: { Username?: string; Secret?: string };
  try {
    answer = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new KernelBuildError(`${program} answered something that is not JSON for ${registry}`);
  }
  if (!answer.Username || !answer.Secret) return undefined;
  if (answer.Username === '<token>') throw unsupportedIdentityToken(registry, configPath);
  return { username: answer.Username, password: answer.Secret };
}

/**
 * The credentials for `registry` from a docker config file (inline or through a credential
 * helper), or undefined when the file or its entry does not exist.
 */
export async function loadDockerConfigCredentials(registry: string, configPath: string): Promise<RegistryCredentials | undefined> {
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KernelBuildError(`cannot read docker config ${configPath}: ${(error as NodeJS.ErrnoException).code}`);
  }
  let config: DockerConfigFile;
  try {
    config = JSON.parse(text) as DockerConfigFile;
  } catch {
    throw new KernelBuildError(`docker config ${configPath} is not JSON`, `fix or remove ${configPath}, then docker login ${registry}`);
  }
  const source = findDockerConfigCredentials(config, registry, configPath);
  if (!source) return undefined;
  return source.kind === 'inline' ? source.credentials : runCredentialHelper(source, registry, configPath);
}
