import * as fs from 'fs';
import * as path from 'path';
import {
  assertNoDroppedOptions,
  explainDroppedOption,
  explainDroppedOptions,
  findDroppedOptions,
  formatDroppedReport,
  UNKNOWN_SYMBOL_REASON,
} from './dropped';
import { loadKconfigTree } from './kconfig-tree';
import { thrownKernelBuildError } from './__fixtures__/thrown-error';
import { debianKconfigTree, REAL_CONFIG } from './__fixtures__/debian-source';

const FIXTURE_TREE = path.join(__dirname, '__fixtures__', 'kconfig-tree');

const FOO_FRAGMENT = {
  path: 'kernels/6.12-foo/config-foo',
  text: ['# what the foo flavour adds', 'CONFIG_NET=y', 'CONFIG_FOO_NET=y', '# CONFIG_SWAP is not set', 'CONFIG_LOG_BUF_SHIFT=18', ''].join('\n'),
};
const FINAL = ['CONFIG_NET=y', '# CONFIG_FOO_NET is not set', 'CONFIG_SWAP=y', 'CONFIG_LOG_BUF_SHIFT=18', ''].join('\n');

describe('findDroppedOptions', () => {
  it('lists each fragment request the final config does not honour, with fragment file:line, wanted and got', () => {
    expect(findDroppedOptions(FINAL, [FOO_FRAGMENT])).toEqual([
      { symbol: 'FOO_NET', path: 'kernels/6.12-foo/config-foo', line: 3, wanted: 'y', got: 'n' },
      { symbol: 'SWAP', path: 'kernels/6.12-foo/config-foo', line: 4, wanted: 'n', got: 'y' },
    ]);
  });

  it('counts =n, "is not set" and absent as the same', () => {
    const fragment = { path: 'f', text: 'CONFIG_KGDB=n\n# CONFIG_SWAP is not set\n' };
    expect(findDroppedOptions('# CONFIG_KGDB is not set\n', [fragment])).toEqual([]);
  });

  it('reports a changed value, not only a missing one', () => {
    const fragment = { path: 'f', text: 'CONFIG_E1000=m\nCONFIG_LOG_BUF_SHIFT=20\n' };
    expect(findDroppedOptions('CONFIG_E1000=y\nCONFIG_LOG_BUF_SHIFT=18\n', [fragment])).toEqual([
      { symbol: 'E1000', path: 'f', line: 1, wanted: 'm', got: 'y' },
      { symbol: 'LOG_BUF_SHIFT', path: 'f', line: 2, wanted: '20', got: '18' },
    ]);
  });

  it('checks only the last fragment`s request when fragments disagree', () => {
    const series = { path: 'kernels/6.12/config-extra', text: 'CONFIG_KGDB=y\n' };
    const debug = { path: 'kernels/common/config-dbg', text: '# CONFIG_KGDB is not set\n' };
    expect(findDroppedOptions('', [series, debug])).toEqual([]);
    expect(findDroppedOptions('CONFIG_KGDB=y\n', [series, debug])).toEqual([
      { symbol: 'KGDB', path: 'kernels/common/config-dbg', line: 1, wanted: 'n', got: 'y' },
    ]);
  });

  it('fails on a fragment that sets a symbol twice with different values', () => {
    expect(thrownKernelBuildError(() => findDroppedOptions('', [{ path: 'f', text: 'CONFIG_A=y\nCONFIG_A=m\n' }])).message).toContain(
      'f:1 and f:2 set CONFIG_A',
    );
  });
});

describe('formatDroppedReport', () => {
  it('writes one line per dropped option: fragment:line, what was asked, what the final config has, and why', () => {
    expect(
      formatDroppedReport([
        { symbol: 'FOO_NET', path: 'kernels/6.12-foo/config-foo', line: 3, wanted: 'y', got: 'n', reason: 'depends on PCI && NET (drivers/net/Kconfig:7)' },
        { symbol: 'E1000', path: 'kernels/6.12-foo/config-foo', line: 7, wanted: 'm', got: 'y' },
      ]),
    ).toBe(
      'kernels/6.12-foo/config-foo:3: CONFIG_FOO_NET=y was dropped (final: not set): depends on PCI && NET (drivers/net/Kconfig:7)\n' +
        'kernels/6.12-foo/config-foo:7: CONFIG_E1000=m was dropped (final: CONFIG_E1000=y)\n',
    );
  });
});

describe('assertNoDroppedOptions', () => {
  it('fails naming the first dropped request, with the whole report as details', () => {
    const dropped = findDroppedOptions(FINAL, [FOO_FRAGMENT]);
    const error = thrownKernelBuildError(() => assertNoDroppedOptions(dropped));
    expect(error.message).toBe('kernels/6.12-foo/config-foo:3: CONFIG_FOO_NET=y did not survive olddefconfig and 1 more');
    expect(error.details).toBe(formatDroppedReport(dropped).trimEnd());
    expect(() => assertNoDroppedOptions([])).not.toThrow();
  });
});

describe('explainDroppedOption on a small Kconfig tree', () => {
  it('reports the depends on of the definition and of the if, menu and source statements around it, with file:line', async () => {
    expect(await explainDroppedOption('FOO_NET', FIXTURE_TREE, 'x86_64')).toBe(
      'depends on NETDEVICES && PCI && (X86 || ARM64) && HAS_DMA (drivers/net/Kconfig:7)',
    );
  });

  it('follows rsource and menu depends on into nested files', async () => {
    expect(await explainDroppedOption('VENDOR_NIC', FIXTURE_TREE, 'x86_64')).toBe(
      'depends on NETDEVICES && PCI && HAS_DMA && MODULES (drivers/net/vendor/Kconfig:4)',
    );
  });

  it('shows each symbol`s final value when given the final config', async () => {
    const finalConfig = 'CONFIG_NET=y\nCONFIG_NETDEVICES=y\n# CONFIG_PCI is not set\nCONFIG_X86=y\nCONFIG_HAS_DMA=y\n';
    expect(await explainDroppedOption('FOO_NET', FIXTURE_TREE, 'x86_64', { finalConfig })).toBe(
      'depends on NETDEVICES [=y] && PCI [=n] && (X86 [=y] || ARM64 [=n]) && HAS_DMA [=y] (drivers/net/Kconfig:7)',
    );
  });

  it('never takes words in help text for definitions', async () => {
    expect(await explainDroppedOption('BOGUS_FROM_HELP', FIXTURE_TREE, 'x86_64')).toBe(UNKNOWN_SYMBOL_REASON);
  });

  it('says an option without a prompt can only be selected', async () => {
    expect(await explainDroppedOption('FOO_HELPER', FIXTURE_TREE, 'x86_64')).toBe(
      'depends on NETDEVICES, has no prompt, so only a select or its default can set it (drivers/net/Kconfig:22)',
    );
  });

  it('names a prompt condition and the choice an option belongs to', async () => {
    expect(await explainDroppedOption('FOO_NET_DEBUG', FIXTURE_TREE, 'x86_64')).toBe(
      'depends on NETDEVICES && FOO_NET, can be set only if EXPERT (drivers/net/Kconfig:18)',
    );
    expect(await explainDroppedOption('KERNEL_GZIP', FIXTURE_TREE, 'x86_64')).toBe(
      'is one value of the choice "Kernel compression mode" (init/Kconfig:16): another value may have won (init/Kconfig:20)',
    );
  });

  it('says when a bool was asked to be m, and when =m lacks MODULES', async () => {
    expect(await explainDroppedOption('EXPERT', FIXTURE_TREE, 'x86_64', { wanted: 'm' })).toBe(
      'is a bool, so it cannot be m (init/Kconfig:1)',
    );
    expect(await explainDroppedOption('FOO_NET', FIXTURE_TREE, 'x86_64', { wanted: 'm', finalConfig: 'CONFIG_PCI=y\n' })).toMatch(
      /^=m needs MODULES \[=n\], depends on /,
    );
  });

  it('says an option exists only for other architectures', async () => {
    expect(await explainDroppedOption('ARM64_VA_BITS_48', FIXTURE_TREE, 'x86_64')).toBe(
      'not available for x86: defined only in arch/arm64/Kconfig:4',
    );
    expect(await explainDroppedOption('CONFIG_ARM64_VA_BITS_48', FIXTURE_TREE, 'aarch64')).toBe('depends on ARM64 (arch/arm64/Kconfig:4)');
    expect(await explainDroppedOption('EXAMPLE_ONLY', FIXTURE_TREE, 'arm64')).toBe(
      'not available for arm64: defined only in Documentation/kbuild/Kconfig.example:2',
    );
  });

  it('says an unknown symbol is no option of this kernel', async () => {
    expect(await explainDroppedOption('FOO_NETT', FIXTURE_TREE, 'x86_64')).toBe(
      'no such option in this kernel (typo, or removed in this version)',
    );
  });

  it('fills in the reason of every dropped option', async () => {
    const dropped = findDroppedOptions(FINAL, [FOO_FRAGMENT]);
    const report = formatDroppedReport(await explainDroppedOptions(dropped, FIXTURE_TREE, 'x86_64', FINAL));
    expect(report).toBe(
      'kernels/6.12-foo/config-foo:3: CONFIG_FOO_NET=y was dropped (final: not set): ' +
        'depends on NETDEVICES [=n] && PCI [=n] && (X86 [=n] || ARM64 [=n]) && HAS_DMA [=n] (drivers/net/Kconfig:7)\n' +
        'kernels/6.12-foo/config-foo:4: CONFIG_SWAP=n was dropped (final: CONFIG_SWAP=y): ' +
        'no such option in this kernel (typo, or removed in this version)\n',
    );
  });
});

describe('explainDroppedOption on the real 6.12 tree', () => {
  let REAL_TREE: string;
  beforeAll(async () => {
    REAL_TREE = await debianKconfigTree();
  }, 120_000);

  it('indexes the whole tree once', async () => {
    const tree = await loadKconfigTree(REAL_TREE);
    expect(tree.files.size).toBeGreaterThan(1500);
    expect(await loadKconfigTree(`${REAL_TREE}/`)).toBe(tree);
  });

  it('explains a network driver by its own and its enclosing conditions', async () => {
    expect(await explainDroppedOption('E1000', REAL_TREE, 'x86_64')).toBe(
      'depends on NETDEVICES && ETHERNET && NET_VENDOR_INTEL && PCI && HAS_IOPORT (drivers/net/ethernet/intel/Kconfig:45)',
    );
  });

  it('tells an arm64-only option apart from a typo', async () => {
    expect(await explainDroppedOption('ARM64_VA_BITS_48', REAL_TREE, 'x86_64')).toMatch(/^not available for x86: defined only in arch\/arm64\/Kconfig:\d+$/);
    expect(await explainDroppedOption('ARM64_VA_BITS_48', REAL_TREE, 'aarch64')).toMatch(
      /^is one value of the choice "Virtual address space size" \(arch\/arm64\/Kconfig:\d+\): another value may have won \(arch\/arm64\/Kconfig:\d+\)$/,
    );
    expect(await explainDroppedOption('E1000E_TYPO', REAL_TREE, 'x86_64')).toBe(UNKNOWN_SYMBOL_REASON);
  });

  it('annotates the conditions with the values of a real final .config', async () => {
    const finalConfig = fs.readFileSync(REAL_CONFIG, 'utf8');
    expect(await explainDroppedOption('DRM_I915', REAL_TREE, 'x86_64', { finalConfig })).toMatch(/DRM \[=n\]/);
  });
});
