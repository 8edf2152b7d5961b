import { formatImageReference, manifestReferenceOf, parseImageReference } from './image-reference';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it('splits registry with port, repository and tag', () => {
    expect(parseImageReference('127.0.0.1:5001/linuxkit/kernel:6.12.1')).toEqual({
      registry: '127.0.0.1:5001',
      repository: 'linuxkit/kernel',
      tag: '6.12.1',
      digest: undefined,
    });
  });

  it('takes a digest, with or without a tag', () => {
    expect(parseImageReference(`ghcr.io/org/kernel@${DIGEST}`)).toMatchObject({ registry: 'ghcr.io', repository: 'org/kernel', digest: DIGEST, tag: undefined });
    expect(parseImageReference(`localhost/org/kernel:6.1@${DIGEST}`)).toMatchObject({ registry: 'localhost', tag: '6.1', digest: DIGEST });
  });

  it('defaults to Docker Hub, adding library/ to one-part names, as docker pull does', () => {
    expect(parseImageReference('linuxkit/kernel:6.12.1')).toMatchObject({ registry: 'docker.io', repository: 'linuxkit/kernel' });
    expect(parseImageReference('alpine')).toMatchObject({ registry: 'docker.io', repository: 'library/alpine', tag: undefined });
  });

  it('reads a first part as a registry only if it looks like a host', () => {
    expect(parseImageReference('myorg/sub/kernel:1')).toMatchObject({ registry: 'docker.io', repository: 'myorg/sub/kernel' });
    expect(parseImageReference('registry.local/kernel')).toMatchObject({ registry: 'registry.local', repository: 'kernel' });
    expect(parseImageReference('[::1]:5001/org/kernel:1')).toMatchObject({ registry: '[::1]:5001', repository: 'org/kernel' });
  });

  it('refuses what is not a reference, saying which part is wrong', () => {
    expect(() => parseImageReference('127.0.0.1:5001/Org/Kernel:1')).toThrow(/'Org\/Kernel' is not a repository name/);
    expect(() => parseImageReference('org/kernel:-bad')).toThrow(/'-bad' is not a valid tag/);
    expect(() => parseImageReference('org/kernel@sha256:1234')).toThrow(/'sha256:1234' is not a sha256 digest/);
    expect(() => parseImageReference('org/../kernel')).toThrow(/is not a repository name/);
    expect(() => parseImageReference('bad_host.example:99999999/org/kernel')).toThrow(/is not a registry host\[:port\]/);
  });

  it('formats back and picks the reference to fetch', () => {
    const reference = parseImageReference(`127.0.0.1:5001/org/kernel:6.12.1@${DIGEST}`);
    expect(formatImageReference(reference)).toBe(`127.0.0.1:5001/org/kernel:6.12.1@${DIGEST}`);
    expect(manifestReferenceOf(reference)).toBe(DIGEST);
    expect(manifestReferenceOf(parseImageReference('org/kernel'))).toBe('latest');
  });
});
