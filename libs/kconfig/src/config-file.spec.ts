import * as fs from 'fs';
import {
  formatOption,
  parseConfig,
  parseConfigEntries,
  quoteConfigString,
  setOption,
  splitLines,
  unquoteConfigString,
} from './config-file';
import { thrownKernelBuildError as thrown } from './__fixtures__/thrown-error';
import { REAL_CONFIG } from './__fixtures__/debian-source';

describe('parseConfig', () => {
  it('maps each symbol, without CONFIG_, to its value as written', () => {
    const config = parseConfig(
      ['CONFIG_NET=y', 'CONFIG_E1000=m', 'CONFIG_LOCALVERSION="-linuxkit"', 'CONFIG_PHYSICAL_START=0x1000000', 'CONFIG_NR_CPUS=64'].join('\n'),
    );
    expect([...config]).toEqual([
      ['NET', 'y'],
      ['E1000', 'm'],
      ['LOCALVERSION', '"-linuxkit"'],
      ['PHYSICAL_START', '0x1000000'],
      ['NR_CPUS', '64'],
    ]);
  });

  it('reads "# CONFIG_X is not set" as n, the same as CONFIG_X=n', () => {
    expect(parseConfig('# CONFIG_KGDB is not set\nCONFIG_SWAP=n\n')).toEqual(
      new Map([
        ['KGDB', 'n'],
        ['SWAP', 'n'],
      ]),
    );
  });

  it('ignores blank lines, section comments and commented-out options', () => {
    const text = '#\n# General setup\n#\n\n# CONFIG_FOO=y\n#CONFIG_BAR is not set\n# CONFIG_BAZ is not set, really\n   \nCONFIG_NET=y\r\n';
    expect([...parseConfig(text)]).toEqual([['NET', 'y']]);
  });

  it('lets a later line win when a symbol is set twice, as kconfig does', () => {
    expect(parseConfig('CONFIG_NET=y\nCONFIG_NET=n\n').get('NET')).toBe('n');
  });

  it('keeps strings with escaped quotes and backslashes intact', () => {
    expect(parseConfig('CONFIG_CMDLINE="console=ttyS0 a=\\"b\\" c=\\\\"\n').get('CMDLINE')).toBe('"console=ttyS0 a=\\"b\\" c=\\\\"');
  });

  it.each([
    ['a line that is neither an option nor a comment', 'CONFIG_NET=y\nNET=y\n', 'kernels/6.12/config-x86_64:2: not a config line'],
    ['an option without =', 'CONFIG_NET y\n', 'kernels/6.12/config-x86_64:1: not a config line'],
    ['an indented option, which kconfig would ignore', '  CONFIG_NET=y\n', 'kernels/6.12/config-x86_64:1: not a config line'],
    ['an option with trailing blanks, which kconfig would ignore', 'CONFIG_NET=y \n', 'kernels/6.12/config-x86_64:1: not a config line'],
    ['an option without a value', '\nCONFIG_NET=\n', 'kernels/6.12/config-x86_64:2: CONFIG_NET has no value'],
    ['an unterminated string', 'CONFIG_LOCALVERSION="-linuxkit\n', 'kernels/6.12/config-x86_64:1: CONFIG_LOCALVERSION has a malformed string value'],
    ['a string whose closing quote is escaped', 'CONFIG_LOCALVERSION="x\\"\n', 'kernels/6.12/config-x86_64:1: CONFIG_LOCALVERSION has a malformed'],
  ])('rejects %s, naming file:line', (_, text, message) => {
    const error = thrown(() => parseConfig(text, 'kernels/6.12/config-x86_64'));
    expect(error.message).toContain(message);
    expect(error.fix).toBeTruthy();
  });
});

describe('parseConfigEntries', () => {
  it('returns every option line with its line number, duplicates included', () => {
    expect(parseConfigEntries('# header\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_A=m\n')).toEqual([
      { symbol: 'A', value: 'y', line: 2 },
      { symbol: 'B', value: 'n', line: 4 },
      { symbol: 'A', value: 'm', line: 5 },
    ]);
  });
});

describe('formatOption', () => {
  it('writes CONFIG_X=val, and n as "is not set"', () => {
    expect(formatOption('NET', 'y')).toBe('CONFIG_NET=y');
    expect(formatOption('LOCALVERSION', '"-linuxkit"')).toBe('CONFIG_LOCALVERSION="-linuxkit"');
    expect(formatOption('KGDB', 'n')).toBe('# CONFIG_KGDB is not set');
  });

  it('round-trips every option line of a real .config', () => {
    const text = fs.readFileSync(REAL_CONFIG, 'utf8');
    const optionLines = splitLines(text).filter((line) => line.startsWith('CONFIG_') || / is not set$/.test(line));
    const formatted = parseConfigEntries(text, REAL_CONFIG).map(({ symbol, value }) => formatOption(symbol, value));
    expect(formatted.length).toBeGreaterThan(1000);
    expect(formatted).toEqual(optionLines);
  });
});

describe('setOption', () => {
  it('rewrites the option in place, keeping every other line', () => {
    const text = '# General setup\nCONFIG_LOCALVERSION=""\n# CONFIG_LOCALVERSION_AUTO is not set\n';
    expect(setOption(text, 'LOCALVERSION', '"-linuxkit"')).toBe(
      '# General setup\nCONFIG_LOCALVERSION="-linuxkit"\n# CONFIG_LOCALVERSION_AUTO is not set\n',
    );
  });

  it('appends the option when the config does not have it', () => {
    expect(setOption('CONFIG_NET=y', 'LOCALVERSION', '"-linuxkit-dbg"')).toBe('CONFIG_NET=y\nCONFIG_LOCALVERSION="-linuxkit-dbg"\n');
  });

  it('turns an option off as "is not set" and drops later duplicates', () => {
    expect(setOption('CONFIG_KGDB=y\nCONFIG_NET=y\nCONFIG_KGDB=m\n', 'KGDB', 'n')).toBe('# CONFIG_KGDB is not set\nCONFIG_NET=y\n');
  });

  it('accepts the symbol with its CONFIG_ prefix too', () => {
    expect(setOption('', 'CONFIG_LOCALVERSION', '"-x"')).toBe('CONFIG_LOCALVERSION="-x"\n');
  });

  it('rejects a value kconfig could not read back', () => {
    expect(thrown(() => setOption('', 'LOCALVERSION', '"-linuxkit')).message).toBe(
      `'"-linuxkit' is not a value kconfig can read for CONFIG_LOCALVERSION`,
    );
  });
});

describe('quoteConfigString / unquoteConfigString', () => {
  it('escape quotes and backslashes the way .config stores strings, and back', () => {
    const text = 'say "hi" \\ bye';
    expect(quoteConfigString(text)).toBe('"say \\"hi\\" \\\\ bye"');
    expect(unquoteConfigString(quoteConfigString(text))).toBe(text);
    expect(parseConfig(`CONFIG_S=${quoteConfigString(text)}`).get('S')).toBe(quoteConfigString(text));
  });
});
