import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { findDockerConfigCredentials, loadDockerConfigCredentials, resolveDockerConfigPath } from './docker-config';

const AUTH = Buffer.from('ci:pass:with:colons').toString('base64');

describe('resolveDockerConfigPath', () => {
  it('prefers the explicit path, then $DOCKER_CONFIG, then ~/.docker', () => {
    expect(resolveDockerConfigPath('/etc/ci/config.json', { DOCKER_CONFIG: '/x' })).toBe('/etc/ci/config.json');
    expect(resolveDockerConfigPath(undefined, { DOCKER_CONFIG: '/ci/docker' })).toBe('/ci/docker/config.json');
    expect(resolveDockerConfigPath(undefined, {})).toBe(path.join(os.homedir(), '.docker', 'config.json'));
  });
});

describe('findDockerConfigCredentials', () => {
  it('decodes auths.<registry>.auth, splitting at the first colon', () => {
    expect(findDockerConfigCredentials({ auths: { '127.0.0.1:5001': { auth: AUTH } } }, '127.0.0.1:5001', 'cfg')).toEqual({
      kind: 'inline',
      credentials: { username: 'ci', password: 'pass:with:colons' },
    });
  });

  it('matches keys written as URLs, and Docker Hub under its legacy key', () => {
    const config = { auths: { 'https://ghcr.io/v2/': { username: 'u', password: 'p' }, 'https://index.docker.io/v1/': { auth: AUTH } } };
    expect(findDockerConfigCredentials(config, 'ghcr.io', 'cfg')).toMatchObject({ credentials: { username: 'u', password: 'p' } });
    expect(findDockerConfigCredentials(config, 'docker.io', 'cfg')).toMatchObject({ credentials: { username: 'ci' } });
    expect(findDockerConfigCredentials(config, 'quay.io', 'cfg')).toBeUndefined();
  });

  it('uses a registry credential helper first, inline auths next, the credsStore last', () => {
    const config = { auths: { 'a.io': { auth: AUTH }, 'b.io': {} }, credHelpers: { 'c.io': 'ecr-login' }, credsStore: 'desktop' };
    expect(findDockerConfigCredentials(config, 'c.io', 'cfg')).toEqual({ kind: 'helper', helper: 'ecr-login', serverUrl: 'c.io' });
    expect(findDockerConfigCredentials(config, 'a.io', 'cfg')).toMatchObject({ kind: 'inline' });
    expect(findDockerConfigCredentials(config, 'b.io', 'cfg')).toEqual({ kind: 'helper', helper: 'desktop', serverUrl: 'b.io' });
  });

  it('names the file when an auth entry is not base64 of user:password, without quoting it', () => {
    const garbage = Buffer.from('no-colon-here').toString('base64');
    expect(() => findDockerConfigCredentials({ auths: { 'a.io': { auth: garbage } } }, 'a.io', '/home/ci/.docker/config.json')).toThrow(
      'the auths entry for a.io in /home/ci/.docker/config.json is not base64 of user:password',
    );
  });
});

describe('loadDockerConfigCredentials', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-docker-config-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('has no credentials when the file does not exist', async () => {
    expect(await loadDockerConfigCredentials('a.io', path.join(dir, 'missing.json'))).toBeUndefined();
  });

  it('names a file that is not JSON', async () => {
    const file = path.join(dir, 'broken.json');
    await fs.writeFile(file, '{ not json');
    await expect(loadDockerConfigCredentials('a.io', file)).rejects.toThrow(`docker config ${file} is not JSON`);
  });

  it('says which credential helper is missing from PATH', async () => {
    const file = path.join(dir, 'helper.json');
    await fs.writeFile(file, JSON.stringify({ credsStore: 'not-installed-anywhere' }));
    await expect(loadDockerConfigCredentials('a.io', file)).rejects.toThrow(
      `${file} says the credentials for a.io are kept by docker-credential-not-installed-anywhere, which is not on PATH`,
    );
  });
});
