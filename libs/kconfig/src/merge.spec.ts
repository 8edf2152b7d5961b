import { formatOverrides, mergeFragments } from './merge';
import { parseConfig } from './config-file';
import { thrownKernelBuildError } from './__fixtures__/thrown-error';

const BASE_PATH = 'kernels/6.12/config-x86_64';
const BASE = ['#', '# General setup', '#', 'CONFIG_NET=y', '# CONFIG_KGDB is not set', 'CONFIG_LOG_BUF_SHIFT=17', 'CONFIG_E1000=m', ''].join(
  '\n',
);
const DEBUG_FRAGMENT = { path: 'kernels/common/config-dbg', text: 'CONFIG_KGDB=y\nCONFIG_LOCKDEP=y\nCONFIG_LOG_BUF_SHIFT=18\n' };
const FOO_FRAGMENT = { path: 'kernels/6.12-foo/config-foo', text: '# drop e1000\n# CONFIG_E1000 is not set\nCONFIG_LOG_BUF_SHIFT=20\n' };

describe('mergeFragments', () => {
  it('applies fragments in order over the base, later files winning', () => {
    const { text } = mergeFragments(BASE, [DEBUG_FRAGMENT, FOO_FRAGMENT], BASE_PATH);
    expect([...parseConfig(text)]).toEqual(
      expect.arrayContaining([
        ['NET', 'y'],
        ['KGDB', 'y'],
        ['LOCKDEP', 'y'],
        ['LOG_BUF_SHIFT', '20'],
        ['E1000', 'n'],
      ]),
    );
  });

  it('keeps the base text, removes overridden lines and appends each fragment under its path, each symbol once', () => {
    const { text } = mergeFragments(BASE, [DEBUG_FRAGMENT, FOO_FRAGMENT], BASE_PATH);
    expect(text).toBe(
      [
        '#',
        '# General setup',
        '#',
        'CONFIG_NET=y',
        '# kernels/common/config-dbg',
        'CONFIG_KGDB=y',
        'CONFIG_LOCKDEP=y',
        '# kernels/6.12-foo/config-foo',
        '# CONFIG_E1000 is not set',
        'CONFIG_LOG_BUF_SHIFT=20',
        '',
      ].join('\n'),
    );
  });

  it('reports every override with the file:line it came from and the one that replaced it', () => {
    const { overrides } = mergeFragments(BASE, [DEBUG_FRAGMENT, FOO_FRAGMENT], BASE_PATH);
    expect(overrides).toEqual([
      { symbol: 'KGDB', from: { path: BASE_PATH, line: 5, value: 'n' }, to: { path: 'kernels/common/config-dbg', line: 1, value: 'y' } },
      {
        symbol: 'LOG_BUF_SHIFT',
        from: { path: BASE_PATH, line: 6, value: '17' },
        to: { path: 'kernels/common/config-dbg', line: 3, value: '18' },
      },
      { symbol: 'E1000', from: { path: BASE_PATH, line: 7, value: 'm' }, to: { path: 'kernels/6.12-foo/config-foo', line: 2, value: 'n' } },
      {
        symbol: 'LOG_BUF_SHIFT',
        from: { path: 'kernels/common/config-dbg', line: 3, value: '18' },
        to: { path: 'kernels/6.12-foo/config-foo', line: 3, value: '20' },
      },
    ]);
    expect(formatOverrides(overrides).split('\n')[0]).toBe(
      'CONFIG_KGDB: kernels/6.12/config-x86_64:5 (=n) overridden by kernels/common/config-dbg:1 (=y)',
    );
  });

  it('does not count restating a value, or =n over "is not set", as an override', () => {
    const { overrides } = mergeFragments(BASE, [{ path: 'f', text: 'CONFIG_NET=y\nCONFIG_KGDB=n\n' }], BASE_PATH);
    expect(overrides).toEqual([]);
  });

  it('accepts a symbol repeated with the same value inside one fragment', () => {
    const { text } = mergeFragments('', [{ path: 'f', text: 'CONFIG_NET=y\nCONFIG_NET=y\n' }]);
    expect(text).toBe('# f\nCONFIG_NET=y\n');
  });

  it('fails when one fragment sets a symbol twice with different values, naming both lines', () => {
    const fragment = { path: 'kernels/6.12-foo/config-foo', text: 'CONFIG_NET=y\nCONFIG_KGDB=y\n# CONFIG_NET is not set\n' };
    const error = thrownKernelBuildError(() => mergeFragments(BASE, [fragment], BASE_PATH));
    expect(error.message).toBe(
      'kernels/6.12-foo/config-foo:1 and kernels/6.12-foo/config-foo:3 set CONFIG_NET to different values (CONFIG_NET=y / # CONFIG_NET is not set)',
    );
    expect(error.fix).toBe('keep one of the two lines in kernels/6.12-foo/config-foo');
  });

  it('applies the same rule to the base config', () => {
    expect(thrownKernelBuildError(() => mergeFragments('CONFIG_A=y\nCONFIG_A=m\n', [], BASE_PATH)).message).toContain(
      `${BASE_PATH}:1 and ${BASE_PATH}:2 set CONFIG_A`,
    );
  });

  it('names the fragment and line of a malformed line', () => {
    expect(thrownKernelBuildError(() => mergeFragments(BASE, [{ path: 'kernels/common/config-dbg', text: '\nKGDB=y\n' }])).message).toContain(
      'kernels/common/config-dbg:2: not a config line',
    );
  });
});
