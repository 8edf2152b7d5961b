import { renderEntries, splitConfigs } from './split';
import { thrownKernelBuildError } from './__fixtures__/thrown-error';

const X86_64 = ['CONFIG_NET=y', 'CONFIG_X86=y', '# CONFIG_KGDB is not set', 'CONFIG_NR_CPUS=64', 'CONFIG_E1000=m', ''].join('\n');
const AARCH64 = ['CONFIG_NET=y', 'CONFIG_ARM64=y', 'CONFIG_KGDB=n', 'CONFIG_NR_CPUS=256', 'CONFIG_E1000=m', ''].join('\n');
const RISCV64 = ['CONFIG_E1000=m', 'CONFIG_NET=y', 'CONFIG_RISCV=y', '# CONFIG_KGDB is not set', 'CONFIG_NR_CPUS=64', ''].join('\n');

describe('splitConfigs', () => {
  const split = splitConfigs([
    { name: 'config-x86_64', text: X86_64 },
    { name: 'config-aarch64', text: AARCH64 },
    { name: 'config-riscv64', text: RISCV64 },
  ]);

  it('puts the options with the same value in every config into common, sorted, with =n equal to "is not set"', () => {
    expect(renderEntries(split.common)).toBe('CONFIG_E1000=m\n# CONFIG_KGDB is not set\nCONFIG_NET=y\n');
  });

  it('leaves each config the options that differ or that only it has, sorted', () => {
    expect([...split.only.keys()]).toEqual(['config-x86_64', 'config-aarch64', 'config-riscv64']);
    expect(renderEntries(split.only.get('config-x86_64') ?? [])).toBe('CONFIG_NR_CPUS=64\nCONFIG_X86=y\n');
    expect(renderEntries(split.only.get('config-aarch64') ?? [])).toBe('CONFIG_ARM64=y\nCONFIG_NR_CPUS=256\n');
    expect(renderEntries(split.only.get('config-riscv64') ?? [])).toBe('CONFIG_NR_CPUS=64\nCONFIG_RISCV=y\n');
  });

  it('keeps an option that is "not set" in one config and absent in another out of common', () => {
    const { common, only } = splitConfigs([
      { name: 'a', text: '# CONFIG_KGDB is not set\n' },
      { name: 'b', text: '' },
    ]);
    expect(common).toEqual([]);
    expect(renderEntries(only.get('a') ?? [])).toBe('# CONFIG_KGDB is not set\n');
  });

  it('gives a single config everything as common', () => {
    const { common, only } = splitConfigs([{ name: 'a', text: X86_64 }]);
    expect(common).toHaveLength(5);
    expect(only.get('a')).toEqual([]);
  });

  it('rejects two configs with the same name', () => {
    expect(thrownKernelBuildError(() => splitConfigs([{ name: 'a', text: '' }, { name: 'a', text: '' }])).message).toContain(
      "config 'a' is given twice",
    );
  });
});

describe('renderEntries', () => {
  it('writes nothing for no entries', () => {
    expect(renderEntries([])).toBe('');
  });
});
