import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  assertFixedPoint,
  compareWithCommitted,
  diffConfigs,
  formatDiffconfig,
  isEmptyDiff,
  isToolchainProbeSymbol,
  TOOLCHAIN_PROBE_SYMBOLS,
} from './diff';
import { setOption } from './config-file';
import { thrownKernelBuildError } from './__fixtures__/thrown-error';
import { debianKconfigTree, REAL_CONFIG } from './__fixtures__/debian-source';


const OLD = ['CONFIG_EXT2_FS_XATTR=y', 'CONFIG_EXT2_FS=y', 'CONFIG_LOG_BUF_SHIFT=14', 'CONFIG_A_B=y', 'CONFIG_AB=y', ''].join('\n');
const NEW = ['CONFIG_EXT2_FS=m', 'CONFIG_LOG_BUF_SHIFT=16', 'CONFIG_PRINTK_TIME=y', 'CONFIG_CRAMFS=y', ''].join('\n');

describe('diffConfigs', () => {
  it('lists removed, changed and added options, each sorted by symbol code point like diffconfig (AB before A_B)', () => {
    expect(diffConfigs(OLD, NEW)).toEqual({
      removed: [
        { symbol: 'AB', value: 'y' },
        { symbol: 'A_B', value: 'y' },
        { symbol: 'EXT2_FS_XATTR', value: 'y' },
      ],
      changed: [
        { symbol: 'EXT2_FS', from: 'y', to: 'm' },
        { symbol: 'LOG_BUF_SHIFT', from: '14', to: '16' },
      ],
      added: [
        { symbol: 'CRAMFS', value: 'y' },
        { symbol: 'PRINTK_TIME', value: 'y' },
      ],
    });
  });

  it('treats =n, "is not set" and absent as the same', () => {
    const diff = diffConfigs('# CONFIG_KGDB is not set\nCONFIG_SWAP=n\n', 'CONFIG_KGDB=n\n');
    expect(isEmptyDiff(diff)).toBe(true);
  });

  it('shows an option turned off as removed and one turned on as added', () => {
    expect(formatDiffconfig(diffConfigs('CONFIG_KGDB=y\n# CONFIG_SWAP is not set\n', '# CONFIG_KGDB is not set\nCONFIG_SWAP=y\n'))).toBe(
      '-KGDB y\n+SWAP y\n',
    );
  });
});

describe('formatDiffconfig', () => {
  it('prints -SYM val, then " SYM old -> new", then +SYM val', () => {
    expect(formatDiffconfig(diffConfigs(OLD, NEW))).toBe(
      [
        '-AB y',
        '-A_B y',
        '-EXT2_FS_XATTR y',
        ' EXT2_FS y -> m',
        ' LOG_BUF_SHIFT 14 -> 16',
        '+CRAMFS y',
        '+PRINTK_TIME y',
        '',
      ].join('\n'),
    );
  });

  it('prints nothing for identical configs', () => {
    expect(formatDiffconfig(diffConfigs(OLD, OLD))).toBe('');
  });

  it("prints exactly what the kernel's scripts/diffconfig prints", async () => {
    const kernelDiffconfig = path.join(await debianKconfigTree(), 'scripts/diffconfig');
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kconfig-diff-'));
    try {
      const [a, b] = [path.join(directory, 'a'), path.join(directory, 'b')];
      fs.writeFileSync(a, OLD);
      fs.writeFileSync(b, NEW);
      const expected = execFileSync('python3', [kernelDiffconfig, a, b], { encoding: 'utf8' });
      expect(formatDiffconfig(diffConfigs(OLD, NEW))).toBe(expected);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('compareWithCommitted', () => {
  const committed = [
    'CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14+deb12u1) 12.2.0"',
    'CONFIG_GCC_VERSION=120200',
    'CONFIG_CC_HAS_ASM_INLINE=y',
    'CONFIG_PAHOLE_VERSION=124',
    'CONFIG_NET=y',
    '',
  ].join('\n');

  it('finds a fixed point although the compiler, assembler and pahole versions differ', () => {
    const final = [
      'CONFIG_CC_VERSION_TEXT="gcc (Debian 13.3.0-1) 13.3.0"',
      'CONFIG_GCC_VERSION=130300',
      '# CONFIG_CC_HAS_ASM_INLINE is not set',
      'CONFIG_PAHOLE_VERSION=127',
      'CONFIG_RUSTC_VERSION=108000',
      'CONFIG_NET=y',
      '',
    ].join('\n');
    expect(isEmptyDiff(compareWithCommitted(committed, final))).toBe(true);
  });

  it('reports what olddefconfig changed among the options a person chose', () => {
    const final = committed.replace('CONFIG_NET=y', '# CONFIG_NET is not set\nCONFIG_NET_NS=y');
    expect(formatDiffconfig(compareWithCommitted(committed, final))).toBe('-NET y\n+NET_NS y\n');
  });

  it('can compare the toolchain symbols too, and ignore more symbols', () => {
    const final = committed.replace('120200', '130300').replace('CONFIG_NET=y', 'CONFIG_NET=m');
    expect(formatDiffconfig(compareWithCommitted(committed, final, { ignoreToolchainProbes: false, alsoIgnore: ['NET'] }))).toBe(
      ' GCC_VERSION 120200 -> 130300\n',
    );
  });

  it('exports the probe list the comparison skips', () => {
    for (const symbol of ['CC_VERSION_TEXT', 'GCC_VERSION', 'CLANG_VERSION', 'AS_VERSION', 'LD_VERSION', 'LLD_VERSION', 'PAHOLE_VERSION', 'RUSTC_VERSION']) {
      expect(TOOLCHAIN_PROBE_SYMBOLS).toContain(symbol);
    }
    expect(isToolchainProbeSymbol('BINDGEN_VERSION_TEXT')).toBe(true);
    expect(isToolchainProbeSymbol('AS_HAS_LDAPR')).toBe(true);
    expect(isToolchainProbeSymbol('NET')).toBe(false);
    expect(isToolchainProbeSymbol('STACKPROTECTOR')).toBe(false);
  });

  it('finds a real .config a fixed point of itself after LOCALVERSION is set to what it already has', () => {
    const text = fs.readFileSync(REAL_CONFIG, 'utf8');
    expect(text).toContain('CONFIG_LOCALVERSION="-linuxkit-virt"\n');
    expect(isEmptyDiff(compareWithCommitted(text, setOption(text, 'LOCALVERSION', '"-linuxkit-virt"')))).toBe(true);
    expect(isEmptyDiff(compareWithCommitted(text, setOption(text, 'LOCALVERSION', '"-linuxkit"')))).toBe(false);
  });
});

describe('assertFixedPoint', () => {
  it('passes when only toolchain probes differ', () => {
    expect(() => assertFixedPoint({ path: 'c', text: 'CONFIG_GCC_VERSION=1\n' }, 'CONFIG_GCC_VERSION=2\n')).not.toThrow();
  });

  it('fails naming the committed file, with the diffconfig output as details', () => {
    const error = thrownKernelBuildError(() =>
      assertFixedPoint({ path: 'kernels/6.12/config-x86_64', text: 'CONFIG_NET=y\nCONFIG_E1000=y\n' }, 'CONFIG_NET=y\nCONFIG_E1000=m\n'),
    );
    expect(error.message).toBe('kernels/6.12/config-x86_64 is not a fixed point: olddefconfig changed 1 option (- committed only, + final only)');
    expect(error.details).toBe(' E1000 y -> m');
    expect(error.fix).toContain('commit the final .config as kernels/6.12/config-x86_64');
  });
});
