import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ConfigEntry, ConfigFile, formatOption, joinLines, parseConfigEntries, parseConfigLine, splitLines } from './config-file';

/** Where a value came from. */
export interface OptionOrigin {
  path: string;
  line: number;
  value: string;
}

/** A later file changing the value an earlier one set. */
export interface ConfigOverride {
  symbol: string;
  from: OptionOrigin;
  to: OptionOrigin;
}

export interface MergedConfig {
  /** The base with overridden lines removed, then each fragment's surviving options under a `# <path>` comment. */
  text: string;
  overrides: ConfigOverride[];
}

/**
 * The options of one file, each symbol once. Setting a symbol twice with the same value is harmless;
 * with different values the file contradicts itself and which line wins would be an accident of order.
 */
export function parseDistinctEntries(file: ConfigFile): ConfigEntry[] {
  const firstBySymbol = new Map<string, ConfigEntry>();
  for (const entry of parseConfigEntries(file.text, file.path)) {
    const first = firstBySymbol.get(entry.symbol);
    if (!first) {
      firstBySymbol.set(entry.symbol, entry);
    } else if (first.value !== entry.value) {
      throw new KernelBuildError(
        `${file.path}:${first.line} and ${file.path}:${entry.line} set CONFIG_${entry.symbol} to different values ` +
          `(${formatOption(entry.symbol, first.value)} / ${formatOption(entry.symbol, entry.value)})`,
        `keep one of the two lines in ${file.path}`,
      );
    }
  }
  return [...firstBySymbol.values()];
}

/** Applies fragments over a base config in order, later files winning, as scripts/kconfig/merge_config.sh does. */
export function mergeFragments(baseText: string, fragments: readonly ConfigFile[], basePath = '<base config>'): MergedConfig {
  const files: ConfigFile[] = [{ path: basePath, text: baseText }, ...fragments];
  const winner = new Map<string, OptionOrigin & { fileIndex: number }>();
  const overrides: ConfigOverride[] = [];
  files.forEach((file, fileIndex) => {
    for (const { symbol, value, line } of parseDistinctEntries(file)) {
      const previous = winner.get(symbol);
      const origin = { path: file.path, line, value };
      if (previous && previous.value !== value) {
        overrides.push({ symbol, from: { path: previous.path, line: previous.line, value: previous.value }, to: origin });
      }
      winner.set(symbol, { ...origin, fileIndex });
    }
  });

  const keptFromBase = splitLines(baseText).filter((rawLine, index) => {
    const entry = parseConfigLine(rawLine, basePath, index + 1);
    if (!entry) return true;
    const origin = winner.get(entry.symbol);
    return origin?.fileIndex === 0 && origin.line === entry.line;
  });
  const fragmentSections = fragments.flatMap((fragment, index) => {
    const fileIndex = index + 1;
    const surviving = parseDistinctEntries(fragment).filter((entry) => winner.get(entry.symbol)?.fileIndex === fileIndex);
    if (surviving.length === 0) return [];
    return [`# ${fragment.path}`, ...surviving.map((entry) => formatOption(entry.symbol, entry.value))];
  });
  return { text: joinLines([...keptFromBase, ...fragmentSections]), overrides };
}

/** One line per override, e.g. `CONFIG_X: kernels/6.12/config-x86_64:12 (=y) overridden by kernels/common/config-dbg:3 (=n)`. */
export function formatOverrides(overrides: readonly ConfigOverride[]): string {
  return joinLines(
    overrides.map(
      ({ symbol, from, to }) =>
        `CONFIG_${symbol}: ${from.path}:${from.line} (=${from.value}) overridden by ${to.path}:${to.line} (=${to.value})`,
    ),
  );
}
