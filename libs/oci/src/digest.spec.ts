import { blobPath, isSha256Digest, sha256Digest } from './digest';

describe('digests', () => {
  it('computes the OCI form of a sha256', () => {
    expect(sha256Digest('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(isSha256Digest(sha256Digest('x'))).toBe(true);
    expect(isSha256Digest('sha512:abc')).toBe(false);
  });

  it('maps a digest to its blob under blobs/sha256', () => {
    expect(blobPath('/layout', sha256Digest(''))).toBe(
      '/layout/blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('refuses a digest that would escape the layout', () => {
    expect(() => blobPath('/layout', 'sha256:../../../etc/passwd')).toThrow(/is not a sha256 digest/);
    expect(() => blobPath('/layout', `sha256:${'A'.repeat(64)}`)).toThrow(/is not a sha256 digest/);
  });
});
