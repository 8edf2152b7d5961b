export type { ConfigEntry, ConfigFile, ConfigMap, ConfigOption } from './config-file';
export {
  formatOption,
  isOff,
  NOT_SET,
  parseConfig,
  parseConfigEntries,
  quoteConfigString,
  setOption,
  unquoteConfigString,
} from './config-file';
export type { ConfigOverride, MergedConfig, OptionOrigin } from './merge';
export { formatOverrides, mergeFragments } from './merge';
export type { ChangedOption, ConfigDiff, FixedPointOptions } from './diff';
export {
  assertFixedPoint,
  compareWithCommitted,
  diffConfigs,
  formatDiffconfig,
  isEmptyDiff,
  isToolchainProbeSymbol,
  TOOLCHAIN_PROBE_PREFIXES,
  TOOLCHAIN_PROBE_SYMBOLS,
} from './diff';
export type { DroppedOption, ExplanationContext } from './dropped';
export {
  assertNoDroppedOptions,
  explainDroppedOption,
  explainDroppedOptions,
  findDroppedOptions,
  formatDroppedReport,
  UNKNOWN_SYMBOL_REASON,
} from './dropped';
export type { NamedConfig, SplitConfigs } from './split';
export { renderEntries, splitConfigs } from './split';
