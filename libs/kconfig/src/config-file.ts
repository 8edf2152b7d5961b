import { KernelBuildError } from '@linuxkit-kernels/errors';

/** One option as kconfig stores it: the symbol without `CONFIG_`, the value as written (`y`, `m`, `n`, `"text"`, `0x10`, `42`). */
export interface ConfigOption {
  symbol: string;
  value: string;
}

/** An option together with the 1-based line of the file it was read from. */
export interface ConfigEntry extends ConfigOption {
  line: number;
}

/** A config file or fragment: where it lives (for messages) and what it says. */
export interface ConfigFile {
  path: string;
  text: string;
}

/** Symbol → value, in the order the symbols first appear; `# CONFIG_X is not set` is stored as `n`. */
export type ConfigMap = Map<string, string>;

export const NOT_SET = 'n';

const OPTION_LINE = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const NOT_SET_LINE = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;
const SYMBOL = /^[A-Za-z0-9_]+$/;

/** Splits text into lines without their terminators; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The option a single line sets, `undefined` for blank and comment lines; throws for anything else. */
export function parseConfigLine(text: string, fileName: string, line: number): ConfigEntry | undefined {
  if (text.trim() === '') return undefined;
  const notSet = NOT_SET_LINE.exec(text);
  if (notSet) return { symbol: notSet[1], value: NOT_SET, line };
  if (text.startsWith('#')) return undefined;
  // kconfig ignores (with only a warning) an option line that is indented or has trailing blanks, so these are errors.
  const option = OPTION_LINE.exec(text);
  if (!option || /\s$/.test(text)) {
    throw new KernelBuildError(
      `${fileName}:${line}: not a config line: ${JSON.stringify(text)}`,
      'write CONFIG_NAME=value or "# CONFIG_NAME is not set" with no blanks around it; start any other line with #',
    );
  }
  const [, symbol, value] = option;
  if (value === '') {
    throw new KernelBuildError(
      `${fileName}:${line}: CONFIG_${symbol} has no value`,
      `write CONFIG_${symbol}=<value>, CONFIG_${symbol}="" for an empty string, or "# CONFIG_${symbol} is not set"`,
    );
  }
  if (value.startsWith('"') && !isQuotedString(value)) {
    throw new KernelBuildError(
      `${fileName}:${line}: CONFIG_${symbol} has a malformed string value ${value}`,
      'close the string with " and escape any " or \\ inside it with a backslash',
    );
  }
  return { symbol, value, line };
}

/** Every option line in file order, duplicates included, each with its line number. */
export function parseConfigEntries(text: string, fileName = '<config>'): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  splitLines(text).forEach((rawLine, index) => {
    const entry = parseConfigLine(rawLine, fileName, index + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

/** Symbol → value; a symbol set twice takes its later value, as kconfig does. */
export function parseConfig(text: string, fileName = '<config>'): ConfigMap {
  const config: ConfigMap = new Map();
  for (const { symbol, value } of parseConfigEntries(text, fileName)) config.set(symbol, value);
  return config;
}

export function formatOption(symbol: string, value: string): string {
  return value === NOT_SET ? `# CONFIG_${symbol} is not set` : `CONFIG_${symbol}=${value}`;
}

/** `n`, "is not set" and absent all mean the option is off. */
export function isOff(value: string | undefined): boolean {
  return value === undefined || value === NOT_SET;
}

/** Accepts a symbol with or without its `CONFIG_` prefix and returns it without. */
export function normalizeSymbol(symbol: string): string {
  const bare = symbol.startsWith('CONFIG_') ? symbol.slice('CONFIG_'.length) : symbol;
  if (!SYMBOL.test(bare)) {
    throw new KernelBuildError(`'${symbol}' is not a config symbol`, 'use letters, digits and _ only, e.g. LOCALVERSION');
  }
  return bare;
}

/** Sets one option in a config text: rewrites its first line in place (dropping later duplicates) or appends it. */
export function setOption(text: string, symbol: string, value: string, fileName = '<config>'): string {
  const bare = normalizeSymbol(symbol);
  const newLine = formatOption(bare, value);
  try {
    parseConfigLine(newLine, '<new value>', 1);
  } catch (error) {
    if (!(error instanceof KernelBuildError)) throw error;
    throw new KernelBuildError(`'${value}' is not a value kconfig can read for CONFIG_${bare}`, error.fix);
  }
  const lines = splitLines(text);
  const linesOfSymbol = new Set(
    parseConfigEntries(text, fileName)
      .filter((entry) => entry.symbol === bare)
      .map((entry) => entry.line),
  );
  if (linesOfSymbol.size === 0) return joinLines([...lines, newLine]);
  const firstLine = Math.min(...linesOfSymbol);
  const result: string[] = [];
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (lineNumber === firstLine) result.push(newLine);
    else if (!linesOfSymbol.has(lineNumber)) result.push(line);
  });
  return joinLines(result);
}

/** A string value as .config writes it: quoted, with `"` and `\` escaped. */
export function quoteConfigString(text: string): string {
  return `"${text.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

/** The text inside a quoted .config string value. */
export function unquoteConfigString(value: string): string {
  if (!isQuotedString(value)) {
    throw new KernelBuildError(`${value} is not a quoted config string`, 'string values look like "text"');
  }
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

function isQuotedString(value: string): boolean {
  if (value.length < 2 || !value.startsWith('"')) return false;
  let index = 1;
  while (index < value.length - 1) {
    if (value[index] === '"') return false;
    index += value[index] === '\\' ? 2 : 1;
  }
  // An escape in front of the last character swallows it, leaving the string unclosed.
  return index === value.length - 1 && value[index] === '"';
}

/** Orders symbols by code point, as Python's sort in scripts/diffconfig does (`AB` before `A_B`). */
export function compareSymbols(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
