import { parseWwwAuthenticate, pickSupportedChallenge } from './www-authenticate';

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge whose scope holds a comma', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:linuxkit/kernel:pull,push"')).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:linuxkit/kernel:pull,push' },
      },
    ]);
  });

  it('reads Basic, unquoted values, escapes and several challenges in one header', () => {
    expect(parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", Bearer realm=https://t.example/token, service=reg')).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', service: 'reg' } },
    ]);
  });

  it('picks Bearer over Basic and ignores schemes it cannot answer', () => {
    expect(pickSupportedChallenge(parseWwwAuthenticate('Basic realm="r", Bearer realm="https://t/token"'))?.scheme).toBe('bearer');
    expect(pickSupportedChallenge(parseWwwAuthenticate('Negotiate, Basic realm="r"'))?.scheme).toBe('basic');
    expect(pickSupportedChallenge(parseWwwAuthenticate('Negotiate'))).toBeUndefined();
    expect(pickSupportedChallenge(parseWwwAuthenticate('Bearer service="no realm"'))).toBeUndefined();
  });
});
