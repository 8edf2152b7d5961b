import { KernelBuildError } from '@linuxkit-kernels/errors';
import { ConfigFile, ConfigMap, isOff, joinLines, NOT_SET, normalizeSymbol, parseConfig } from './config-file';
import { KconfigDefinition } from './kconfig-language';
import { KconfigTree, loadKconfigTree, reachableKconfigFiles, ReachableKconfigFiles, sourceArchOf } from './kconfig-tree';
import { parseDistinctEntries } from './merge';

/** A fragment's request that the final .config does not honour. */
export interface DroppedOption {
  symbol: string;
  /** The fragment and line that asked for it. */
  path: string;
  line: number;
  wanted: string;
  /** The final value; `n` when the option is not set or absent. */
  got: string;
  /** Why, when explainDroppedOptions could tell. */
  reason?: string;
}

export const UNKNOWN_SYMBOL_REASON = 'no such option in this kernel (typo, or removed in this version)';

/**
 * Every option the fragments ask for that did not survive olddefconfig with the asked value. Only the
 * fragments' own symbols are checked, and where fragments disagree only the last one's request counts.
 */
export function findDroppedOptions(finalText: string, fragments: readonly ConfigFile[]): DroppedOption[] {
  const final = parseConfig(finalText, '<final config>');
  const requests = new Map<string, { path: string; line: number; wanted: string }>();
  for (const fragment of fragments) {
    for (const { symbol, value, line } of parseDistinctEntries(fragment)) {
      requests.delete(symbol);
      requests.set(symbol, { path: fragment.path, line, wanted: value });
    }
  }
  const dropped: DroppedOption[] = [];
  for (const [symbol, request] of requests) {
    const got = final.get(symbol) ?? NOT_SET;
    const honoured = isOff(request.wanted) ? isOff(got) : got === request.wanted;
    if (!honoured) dropped.push({ symbol, ...request, got });
  }
  return dropped;
}

/** What the caller knows beyond the symbol, to sharpen the explanation. */
export interface ExplanationContext {
  /** The value the fragment asked for (`m` on a bool option is its own reason). */
  wanted?: string;
  /** The final .config: each symbol in a condition is shown with its final value, like menuconfig's `PCI [=n]`. */
  finalConfig?: string | ConfigMap;
}

/** Why kconfig may have dropped an option, read from the tree's Kconfig files (indexed once per tree). */
export async function explainDroppedOption(
  symbol: string,
  srcTree: string,
  karch: string,
  context: ExplanationContext = {},
): Promise<string> {
  return explainFromKconfigTree(await loadKconfigTree(srcTree), normalizeSymbol(symbol), karch, context);
}

/** The dropped options with a `reason` each. */
export async function explainDroppedOptions(
  dropped: readonly DroppedOption[],
  srcTree: string,
  karch: string,
  finalText?: string,
): Promise<DroppedOption[]> {
  const tree = await loadKconfigTree(srcTree);
  const finalConfig = finalText === undefined ? undefined : parseConfig(finalText, '<final config>');
  return dropped.map((option) => ({
    ...option,
    reason: explainFromKconfigTree(tree, option.symbol, karch, { wanted: option.wanted, finalConfig }),
  }));
}

export function explainFromKconfigTree(tree: KconfigTree, symbol: string, karch: string, context: ExplanationContext = {}): string {
  const definitions = tree.definitionsBySymbol.get(symbol);
  if (!definitions) return UNKNOWN_SYMBOL_REASON;
  const reachable = reachableKconfigFiles(tree, karch);
  const forThisArch = definitions.filter((definition) => reachable.has(definition.file));
  if (forThisArch.length === 0) {
    return `not available for ${sourceArchOf(karch)}: defined only in ${definitions.map(location).join(', ')}`;
  }
  const finalConfig = typeof context.finalConfig === 'string' ? parseConfig(context.finalConfig, '<final config>') : context.finalConfig;
  return forThisArch.map((definition) => describeDefinition(definition, reachable, { ...context, finalConfig })).join('; or ');
}

function describeDefinition(
  definition: KconfigDefinition,
  reachable: ReachableKconfigFiles,
  context: { wanted?: string; finalConfig?: ConfigMap },
): string {
  const show = (expression: string) => (context.finalConfig ? annotateWithValues(expression, context.finalConfig) : expression);
  const conditions = unique([
    ...(reachable.get(definition.file) ?? []).map((condition) => condition.expression),
    ...definition.enclosing.map((condition) => condition.expression),
    ...definition.dependsOn,
  ]);
  const facts: string[] = [];
  if (context.wanted === 'm' && definition.type === 'bool') facts.push('is a bool, so it cannot be m');
  if (context.wanted === 'm' && definition.type === 'tristate' && context.finalConfig && context.finalConfig.get('MODULES') !== 'y') {
    facts.push(`=m needs MODULES [=${context.finalConfig.get('MODULES') ?? NOT_SET}]`);
  }
  if (conditions.length > 0) facts.push(`depends on ${conditions.map((condition) => show(parenthesize(condition))).join(' && ')}`);
  if (!definition.hasPrompt) facts.push('has no prompt, so only a select or its default can set it');
  else if (definition.promptConditions.length > 0) {
    facts.push(`can be set only if ${unique(definition.promptConditions).map((condition) => show(parenthesize(condition))).join(' && ')}`);
  }
  if (definition.choice) {
    const name = definition.choice.prompt ? ` "${definition.choice.prompt}"` : '';
    facts.push(`is one value of the choice${name} (${definition.choice.file}:${definition.choice.line}): another value may have won`);
  }
  if (facts.length === 0) facts.push('has no dependencies in Kconfig');
  return `${facts.join(', ')} (${location(definition)})`;
}

function location(definition: { file: string; line: number }): string {
  return `${definition.file}:${definition.line}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Wraps an expression whose top level is an `||`, so joining it with `&&` keeps its meaning. */
function parenthesize(expression: string): string {
  let depth = 0;
  for (let index = 0; index < expression.length; index++) {
    const character = expression[index];
    if (character === '(') depth++;
    else if (character === ')') depth--;
    else if (depth === 0 && expression.startsWith('||', index)) return `(${expression})`;
  }
  return expression;
}

/** `PCI && !EXPERT` → `PCI [=n] && !EXPERT [=y]`; literals, strings and `$(…)` macros are left alone. */
export function annotateWithValues(expression: string, config: ConfigMap): string {
  return expression.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|\$\([^)]*\)|\b[A-Za-z_][A-Za-z0-9_]*\b/g, (token) => {
    if (!/^[A-Za-z_]/.test(token) || token === 'y' || token === 'm' || token === 'n') return token;
    return `${token} [=${config.get(token) ?? NOT_SET}]`;
  });
}

/** One line per dropped option: `<fragment>:<line>: CONFIG_X=y was dropped (final: not set): <reason>`. */
export function formatDroppedReport(dropped: readonly DroppedOption[]): string {
  return joinLines(
    dropped.map(({ symbol, path, line, wanted, got, reason }) => {
      const final = isOff(got) ? 'not set' : `CONFIG_${symbol}=${got}`;
      return `${path}:${line}: CONFIG_${symbol}=${wanted} was dropped (final: ${final})${reason ? `: ${reason}` : ''}`;
    }),
  );
}

/** Throws when any fragment's request was dropped, listing each with its reason. */
export function assertNoDroppedOptions(dropped: readonly DroppedOption[]): void {
  if (dropped.length === 0) return;
  const first = dropped[0];
  const more = dropped.length > 1 ? ` and ${dropped.length - 1} more` : '';
  throw new KernelBuildError(
    `${first.path}:${first.line}: CONFIG_${first.symbol}=${first.wanted} did not survive olddefconfig${more}`,
    'enable what the option depends on in the same fragment, or remove the request',
    formatDroppedReport(dropped).trimEnd(),
  );
}
