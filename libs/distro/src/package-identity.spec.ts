import { packageFormatOf, parseControlFields } from './package-identity';

describe('packageFormatOf', () => {
  it('tells .deb and .rpm apart by their first bytes, not their names', () => {
    expect(packageFormatOf(Buffer.from('!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n'))).toBe('deb');
    expect(packageFormatOf(Buffer.from([0xed, 0xab, 0xee, 0xdb, 0x03, 0x00]))).toBe('rpm');
    expect(packageFormatOf(Buffer.from('!<arch>\nlibfoo.o/'))).toBeUndefined();
    expect(packageFormatOf(Buffer.from('<html>'))).toBeUndefined();
  });
});

describe('parseControlFields', () => {
  it('reads the fields dpkg-deb --field prints', () => {
    expect(parseControlFields('Package: linux-image-6.1.0-57-cloud-amd64\nVersion: 6.1.192-3\nArchitecture: amd64\n')).toEqual({
      Package: 'linux-image-6.1.0-57-cloud-amd64',
      Version: '6.1.192-3',
      Architecture: 'amd64',
    });
  });
});
