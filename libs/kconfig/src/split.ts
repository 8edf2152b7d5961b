import { KernelBuildError } from '@linuxkit-kernels/errors';
import { compareSymbols, ConfigOption, formatOption, joinLines } from './config-file';
import { parseDistinctEntries } from './merge';

export interface NamedConfig {
  name: string;
  text: string;
}

export interface SplitConfigs {
  /** Options set to the same value in every input. */
  common: ConfigOption[];
  /** Per input, in input order: the options it has that are not common (a different value, or set only there). */
  only: Map<string, ConfigOption[]>;
}

/**
 * kconfig-split: separates what N configs share from what each has on its own, so configs for several
 * architectures or versions can be compared and kept alike. `=n` and "is not set" are the same; an
 * absent option is not, since kconfig gives it its default.
 */
export function splitConfigs(configs: readonly NamedConfig[]): SplitConfigs {
  const names = new Set<string>();
  for (const { name } of configs) {
    if (names.has(name)) throw new KernelBuildError(`config '${name}' is given twice to splitConfigs`, 'give each config a distinct name');
    names.add(name);
  }
  const parsed = configs.map(({ name, text }) => ({
    name,
    values: new Map(parseDistinctEntries({ path: name, text }).map((entry) => [entry.symbol, entry.value])),
  }));
  const [first, ...others] = parsed;
  const commonValues = new Map(
    [...(first?.values ?? [])].filter(([symbol, value]) => others.every((config) => config.values.get(symbol) === value)),
  );
  const sorted = (values: Iterable<[string, string]>): ConfigOption[] =>
    [...values].map(([symbol, value]) => ({ symbol, value })).sort((a, b) => compareSymbols(a.symbol, b.symbol));
  return {
    common: sorted(commonValues),
    only: new Map(parsed.map(({ name, values }) => [name, sorted([...values].filter(([symbol]) => !commonValues.has(symbol)))])),
  };
}

/** Options as config lines: `CONFIG_X=val`, or `# CONFIG_X is not set` for `n`. */
export function renderEntries(entries: readonly ConfigOption[]): string {
  return joinLines(entries.map(({ symbol, value }) => formatOption(symbol, value)));
}
