import { KernelBuildError } from '@linuxkit-kernels/errors';
import { compareSymbols, ConfigFile, ConfigMap, ConfigOption, isOff, joinLines, parseConfig } from './config-file';

export interface ChangedOption {
  symbol: string;
  from: string;
  to: string;
}

/** What turns config `a` into config `b`; an option that is `n` or absent is off, so `n` → absent is no change. */
export interface ConfigDiff {
  removed: ConfigOption[];
  changed: ChangedOption[];
  added: ConfigOption[];
}

/**
 * Symbols whose value is a fact about the compiler, assembler, linker or pahole that ran kconfig,
 * not a choice: they differ between two machines building the same config.
 */
export const TOOLCHAIN_PROBE_SYMBOLS: readonly string[] = [
  'CC_VERSION_TEXT',
  'CC_IS_GCC',
  'CC_IS_CLANG',
  'GCC_VERSION',
  'CLANG_VERSION',
  'AS_IS_GNU',
  'AS_IS_LLVM',
  'AS_VERSION',
  'LD_IS_BFD',
  'LD_IS_LLD',
  'LD_VERSION',
  'LLD_VERSION',
  'RUST_IS_AVAILABLE',
  'RUSTC_VERSION',
  'RUSTC_VERSION_TEXT',
  'RUSTC_LLVM_VERSION',
  'BINDGEN_VERSION',
  'BINDGEN_VERSION_TEXT',
  'PAHOLE_VERSION',
  'GCC_ASM_GOTO_OUTPUT_BROKEN',
  'CC_IMPLICIT_FALLTHROUGH',
  'CC_OPT_INLINE_MEMSET',
  'CC_NO_ARRAY_BOUNDS',
  'CC_NO_STRINGOP_OVERFLOW',
  'CC_STRINGOP_OVERFLOW',
  'GCC_NO_STRINGOP_OVERFLOW',
  'LD_ORPHAN_WARN',
  'LD_ORPHAN_WARN_LEVEL',
  'HAVE_KCSAN_COMPILER',
];

/** Prefixes of the promptless `$(success,…)` / `$(cc-option,…)` capability probes (CC_HAS_ASM_INLINE, AS_HAS_LDAPR, AS_AVX512 …). */
export const TOOLCHAIN_PROBE_PREFIXES: readonly string[] = [
  'CC_HAS_',
  'CC_HAVE_',
  'CC_CAN_',
  'AS_',
  'LD_CAN_',
  'RUSTC_HAS_',
  'RUSTC_SUPPORTS_',
  'PAHOLE_HAS_',
  'TOOLS_SUPPORT_',
  'GCC_SUPPORTS_',
  'CLANG_SUPPORTS_',
];

export function isToolchainProbeSymbol(symbol: string): boolean {
  return TOOLCHAIN_PROBE_SYMBOLS.includes(symbol) || TOOLCHAIN_PROBE_PREFIXES.some((prefix) => symbol.startsWith(prefix));
}

function asConfigMap(config: string | ConfigMap, fileName: string): ConfigMap {
  return typeof config === 'string' ? parseConfig(config, fileName) : config;
}

/** The difference from `a` to `b`, each list sorted by symbol as scripts/diffconfig sorts it. */
export function diffConfigs(a: string | ConfigMap, b: string | ConfigMap): ConfigDiff {
  const before = asConfigMap(a, '<first config>');
  const after = asConfigMap(b, '<second config>');
  const diff: ConfigDiff = { removed: [], changed: [], added: [] };
  for (const [symbol, from] of before) {
    if (isOff(from)) continue;
    const to = after.get(symbol);
    if (isOff(to)) diff.removed.push({ symbol, value: from });
    else if (to !== from) diff.changed.push({ symbol, from, to: to as string });
  }
  for (const [symbol, value] of after) {
    if (!isOff(value) && isOff(before.get(symbol))) diff.added.push({ symbol, value });
  }
  const bySymbol = (x: { symbol: string }, y: { symbol: string }) => compareSymbols(x.symbol, y.symbol);
  diff.removed.sort(bySymbol);
  diff.changed.sort(bySymbol);
  diff.added.sort(bySymbol);
  return diff;
}

export function isEmptyDiff(diff: ConfigDiff): boolean {
  return diff.removed.length === 0 && diff.changed.length === 0 && diff.added.length === 0;
}

/** The diff in scripts/diffconfig's format: `-SYM val`, then ` SYM old -> new`, then `+SYM val`. */
export function formatDiffconfig(diff: ConfigDiff): string {
  return joinLines([
    ...diff.removed.map(({ symbol, value }) => `-${symbol} ${value}`),
    ...diff.changed.map(({ symbol, from, to }) => ` ${symbol} ${from} -> ${to}`),
    ...diff.added.map(({ symbol, value }) => `+${symbol} ${value}`),
  ]);
}

export interface FixedPointOptions {
  /** Skip TOOLCHAIN_PROBE_SYMBOLS and the capability probes (default true). */
  ignoreToolchainProbes?: boolean;
  /** More symbols to leave out of the comparison. */
  alsoIgnore?: readonly string[];
}

/**
 * How the final .config (after olddefconfig) differs from the committed one. Empty means the committed
 * config is a fixed point: kconfig, given it, changes nothing a person chose.
 */
export function compareWithCommitted(committedText: string, finalText: string, options: FixedPointOptions = {}): ConfigDiff {
  const { ignoreToolchainProbes = true, alsoIgnore = [] } = options;
  const isIgnored = (symbol: string) => alsoIgnore.includes(symbol) || (ignoreToolchainProbes && isToolchainProbeSymbol(symbol));
  const withoutIgnored = (config: ConfigMap) => new Map([...config].filter(([symbol]) => !isIgnored(symbol)));
  return diffConfigs(
    withoutIgnored(parseConfig(committedText, '<committed config>')),
    withoutIgnored(parseConfig(finalText, '<final config>')),
  );
}

/** Throws when kconfig changed the committed config, with the change in diffconfig format as details. */
export function assertFixedPoint(committed: ConfigFile, finalText: string, options: FixedPointOptions = {}): void {
  const diff = compareWithCommitted(committed.text, finalText, options);
  if (isEmptyDiff(diff)) return;
  const count = diff.removed.length + diff.changed.length + diff.added.length;
  throw new KernelBuildError(
    `${committed.path} is not a fixed point: olddefconfig changed ${count} option${count === 1 ? '' : 's'} (- committed only, + final only)`,
    `review the changes below; if they are right, commit the final .config as ${committed.path}`,
    formatDiffconfig(diff).trimEnd(),
  );
}
