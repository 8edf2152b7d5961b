import { checkUrlMayCarryCredentials, isLoopbackHost, resolveRegistryEndpoint } from './registry-endpoint';

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, localhost and ::1', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', 'localhost', 'LOCALHOST', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
  });
  it('does not take look-alikes for loopback', () => {
    for (const host of ['127.0.0.1.example.com', '128.0.0.1', '127.0.0.256', 'localhost.evil', '10.0.0.1', '::2']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('resolveRegistryEndpoint', () => {
  it('uses https for remote hosts and http for loopback ones', () => {
    expect(resolveRegistryEndpoint('ghcr.io')).toEqual({ registry: 'ghcr.io', origin: 'https://ghcr.io' });
    expect(resolveRegistryEndpoint('127.0.0.1:5001')).toEqual({ registry: '127.0.0.1:5001', origin: 'http://127.0.0.1:5001' });
    expect(resolveRegistryEndpoint('[::1]:5001').origin).toBe('http://[::1]:5001');
  });

  it('honours an explicit https:// even for loopback', () => {
    expect(resolveRegistryEndpoint('https://localhost:5443/').origin).toBe('https://localhost:5443');
  });

  it('refuses http:// to a remote host unless insecure', () => {
    expect(() => resolveRegistryEndpoint('http://registry.lan:5000')).toThrow(/refusing plain http to registry registry\.lan:5000/);
    expect(resolveRegistryEndpoint('http://registry.lan:5000', { insecure: true }).origin).toBe('http://registry.lan:5000');
    expect(resolveRegistryEndpoint('registry.lan:5000', { insecure: true }).origin).toBe('http://registry.lan:5000');
  });

  it('sends docker.io to registry-1.docker.io, always over https', () => {
    expect(resolveRegistryEndpoint('index.docker.io')).toEqual({ registry: 'docker.io', origin: 'https://registry-1.docker.io' });
    expect(resolveRegistryEndpoint('docker.io', { insecure: true }).origin).toBe('https://registry-1.docker.io');
  });

  it('refuses something that is not host[:port]', () => {
    expect(() => resolveRegistryEndpoint('ghcr.io/org')).toThrow(/is not a registry address/);
    expect(() => resolveRegistryEndpoint('user:pw@ghcr.io')).toThrow(/is not a registry address/);
  });
});

describe('checkUrlMayCarryCredentials', () => {
  const endpoint = { registry: 'ghcr.io', origin: 'https://ghcr.io' };
  it('allows https anywhere and http on loopback, refuses http elsewhere', () => {
    expect(() => checkUrlMayCarryCredentials(new URL('https://auth.example/token'), endpoint, false)).not.toThrow();
    expect(() => checkUrlMayCarryCredentials(new URL('http://127.0.0.1:9/token'), endpoint, false)).not.toThrow();
    expect(() => checkUrlMayCarryCredentials(new URL('http://auth.example/token'), endpoint, false)).toThrow(/refusing to send credentials/);
  });
});
