import { PackageRootRules, normalizeMemberName } from './package-root-rules';

describe('PackageRootRules', () => {
  it('admits the members of ordinary packages, absolute symlink targets included', () => {
    const rules = new PackageRootRules();
    expect(rules.check({ path: '', type: 'directory' }, 'linux-image')).toBeUndefined();
    expect(rules.check({ path: 'lib/modules/6.1.0-57-cloud-amd64', type: 'directory' }, 'linux-image')).toBeUndefined();
    expect(rules.check({ path: 'lib/modules/6.1.0-57-cloud-amd64', type: 'directory' }, 'linux-headers')).toBeUndefined();
    expect(rules.check({ path: 'lib/modules/6.1.0-57-cloud-amd64/build', type: 'symlink', linkTarget: '/usr/src/linux-headers-6.1.0-57-cloud-amd64' }, 'linux-headers')).toBeUndefined();
    expect(rules.check({ path: 'usr/src/linux-kbuild-6.1', type: 'symlink', linkTarget: '../lib/linux-kbuild-6.1' }, 'linux-kbuild')).toBeUndefined();
    expect(rules.check({ path: 'usr/bin/a', type: 'file' }, 'linux-kbuild')).toBeUndefined();
    expect(rules.check({ path: 'usr/bin/b', type: 'hardlink', linkTarget: './usr/bin/a' }, 'linux-kbuild')).toBeUndefined();
  });

  it('refuses members that leave the root or are devices', () => {
    const rules = new PackageRootRules();
    expect(rules.check({ path: '/etc/passwd', type: 'file' }, 'p')).toBe('has an absolute path');
    expect(rules.check({ path: 'usr/../../etc/passwd', type: 'file' }, 'p')).toBe("has a '..' component");
    expect(rules.check({ path: 'dev/null', type: 'device' }, 'p')).toMatch(/device node/);
    expect(rules.check({ path: 'usr/x', type: 'hardlink', linkTarget: '/etc/shadow' }, 'p')).toBe('is a hard link whose target /etc/shadow has an absolute path');
    expect(rules.check({ path: 'usr/y', type: 'hardlink', linkTarget: '../etc/shadow' }, 'p')).toMatch(/has a '\.\.' component/);
  });

  it('refuses writing through a symlink, whichever package made it', () => {
    const rules = new PackageRootRules();
    expect(rules.check({ path: 'usr/src', type: 'symlink', linkTarget: '/etc' }, 'first')).toBeUndefined();
    expect(rules.check({ path: 'usr/src/passwd', type: 'file' }, 'second')).toBe('is below the symlink usr/src, so it would be written wherever that points');
    expect(rules.check({ path: 'usr/src', type: 'directory' }, 'second')).toBe('is also shipped by first');
    expect(rules.check({ path: 'usr/z', type: 'hardlink', linkTarget: 'usr/src' }, 'second')).toBe('is a hard link to usr/src, through the symlink usr/src');
  });

  it('lets packages share directories only', () => {
    const rules = new PackageRootRules();
    expect(rules.check({ path: 'usr/include/linux/types.h', type: 'file' }, 'linux-libc-dev')).toBeUndefined();
    expect(rules.check({ path: 'usr/include/linux/types.h', type: 'file' }, 'other')).toBe('is also shipped by linux-libc-dev');
    expect(rules.check({ path: 'usr/include/linux/types.h', type: 'file' }, 'linux-libc-dev')).toBe('appears twice in the package');
  });
});

describe('normalizeMemberName', () => {
  it('gives tar and cpio spellings of a member one name', () => {
    expect(normalizeMemberName('./usr/src/')).toBe('usr/src');
    expect(normalizeMemberName('usr//src')).toBe('usr/src');
    expect(normalizeMemberName('./')).toBe('');
    expect(normalizeMemberName('/etc/passwd')).toBe('/etc/passwd');
  });
});
