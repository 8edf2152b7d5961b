/** A condition that applies to everything inside a block: `if X`, or a `menu`/`choice` with `depends on X`. */
export interface EnclosingCondition {
  expression: string;
  file: string;
  line: number;
}

export type KconfigType = 'bool' | 'tristate' | 'string' | 'hex' | 'int';

/** One `config SYMBOL` / `menuconfig SYMBOL` entry; a symbol may have several across the tree. */
export interface KconfigDefinition {
  symbol: string;
  file: string;
  line: number;
  type?: KconfigType;
  /** Without a prompt an option cannot be set by a .config line, only by its defaults or a `select`. */
  hasPrompt: boolean;
  /** `bool "x" if EXPR`, `prompt "x" if EXPR`, and enclosing menus' `visible if EXPR`. */
  promptConditions: string[];
  dependsOn: string[];
  /** Conditions of enclosing blocks in this file, outermost first. */
  enclosing: EnclosingCondition[];
  choice?: { file: string; line: number; prompt?: string };
}

/** A `source`, `rsource`, `osource` or `orsource` statement, as written (it may name `$(SRCARCH)`). */
export interface KconfigSourceStatement {
  path: string;
  relativeToFile: boolean;
  line: number;
  enclosing: EnclosingCondition[];
}

export interface ParsedKconfigFile {
  file: string;
  definitions: KconfigDefinition[];
  sources: KconfigSourceStatement[];
}

interface Block {
  kind: 'if' | 'menu' | 'choice';
  line: number;
  conditions: string[];
  visibleIf: string[];
  prompt?: string;
}

type CurrentEntry = { kind: 'config'; definition: KconfigDefinition } | { kind: 'block'; block: Block } | { kind: 'other' };

const TYPES = new Set<KconfigType>(['bool', 'tristate', 'string', 'hex', 'int']);
const DEFAULT_TYPES: Record<string, KconfigType> = { def_bool: 'bool', def_tristate: 'tristate' };
const SOURCE_KEYWORDS = new Set(['source', 'rsource', 'osource', 'orsource']);
const TAB_WIDTH = 8;

/**
 * Reads the parts of a Kconfig file that explain why an option can be off: definitions, their
 * `depends on` and prompts, the `if`/`menu`/`choice` blocks around them, and `source` statements.
 * Help text is skipped by indentation the way kconfig's lexer does, so words in it are never keywords.
 */
export function parseKconfigFile(text: string, file: string): ParsedKconfigFile {
  const definitions: KconfigDefinition[] = [];
  const sources: KconfigSourceStatement[] = [];
  const blocks: Block[] = [];
  let current: CurrentEntry = { kind: 'other' };

  const enclosingHere = (): EnclosingCondition[] =>
    blocks.flatMap((block) => block.conditions.map((expression) => ({ expression, file, line: block.line })));
  const visibleIfHere = (): string[] => blocks.flatMap((block) => block.visibleIf);
  const innermostChoice = (): Block | undefined => [...blocks].reverse().find((block) => block.kind === 'choice');
  const popBlock = (kind: Block['kind']) => {
    const index = blocks.map((block) => block.kind).lastIndexOf(kind);
    if (index >= 0) blocks.splice(index);
    current = { kind: 'other' };
  };

  for (const { text: statement, line } of logicalLines(text)) {
    const [keyword = '', ...restWords] = statement.split(/\s+/);
    const rest = statement.slice(keyword.length).trim();
    switch (keyword) {
      case 'config':
      case 'menuconfig': {
        const choice = innermostChoice();
        const definition: KconfigDefinition = {
          symbol: restWords[0] ?? '',
          file,
          line,
          hasPrompt: false,
          promptConditions: visibleIfHere(),
          dependsOn: [],
          enclosing: enclosingHere(),
          ...(choice ? { choice: { file, line: choice.line, prompt: choice.prompt } } : {}),
        };
        definitions.push(definition);
        current = { kind: 'config', definition };
        break;
      }
      case 'menu':
      case 'choice': {
        const block: Block = { kind: keyword, line, conditions: [], visibleIf: [] };
        if (keyword === 'menu') block.prompt = parsePrompt(rest)?.prompt;
        blocks.push(block);
        current = { kind: 'block', block };
        break;
      }
      case 'if':
        blocks.push({ kind: 'if', line, conditions: [rest], visibleIf: [] });
        current = { kind: 'other' };
        break;
      case 'endif':
        popBlock('if');
        break;
      case 'endmenu':
        popBlock('menu');
        break;
      case 'endchoice':
        popBlock('choice');
        break;
      case 'comment':
      case 'mainmenu':
        current = { kind: 'other' };
        break;
      case 'depends':
        if (restWords[0] === 'on') addDependency(current, rest.replace(/^on\s+/, ''));
        break;
      case 'visible':
        if (current.kind === 'block' && restWords[0] === 'if') current.block.visibleIf.push(rest.replace(/^if\s+/, ''));
        break;
      case 'prompt':
        if (current.kind === 'config') addPrompt(current.definition, rest);
        else if (current.kind === 'block' && current.block.kind === 'choice') current.block.prompt = parsePrompt(rest)?.prompt;
        break;
      default:
        if (SOURCE_KEYWORDS.has(keyword)) {
          sources.push({ path: unquote(rest), relativeToFile: keyword === 'rsource' || keyword === 'orsource', line, enclosing: enclosingHere() });
          current = { kind: 'other' };
        } else if (TYPES.has(keyword as KconfigType) || keyword in DEFAULT_TYPES) {
          applyType(current, keyword, rest);
        }
    }
  }
  return { file, definitions, sources };
}

function addDependency(current: CurrentEntry, expression: string): void {
  if (current.kind === 'config') current.definition.dependsOn.push(expression);
  else if (current.kind === 'block' && current.block.kind !== 'if') current.block.conditions.push(expression);
}

function applyType(current: CurrentEntry, keyword: string, rest: string): void {
  if (current.kind === 'config') {
    current.definition.type = DEFAULT_TYPES[keyword] ?? (keyword as KconfigType);
    if (!(keyword in DEFAULT_TYPES)) addPrompt(current.definition, rest);
  } else if (current.kind === 'block' && current.block.kind === 'choice') {
    current.block.prompt ??= parsePrompt(rest)?.prompt;
  }
}

function addPrompt(definition: KconfigDefinition, rest: string): void {
  const prompt = parsePrompt(rest);
  if (!prompt) return;
  definition.hasPrompt = true;
  if (prompt.condition) definition.promptConditions.push(prompt.condition);
}

/** `"text" if EXPR` → its parts; `undefined` when the text does not start with a quoted prompt. */
function parsePrompt(rest: string): { prompt: string; condition?: string } | undefined {
  const quote = rest[0];
  if (quote !== '"' && quote !== "'") return undefined;
  let index = 1;
  while (index < rest.length && rest[index] !== quote) index += rest[index] === '\\' ? 2 : 1;
  const prompt = rest.slice(1, index);
  const after = rest.slice(index + 1).trim();
  const condition = /^if\s+(.+)$/.exec(after)?.[1];
  return condition ? { prompt, condition } : { prompt };
}

function unquote(text: string): string {
  return /^(["'])(.*)\1$/.exec(text)?.[2] ?? text;
}

/** Statements with comments removed, `\` continuations joined and help text dropped, each with its first line number. */
function* logicalLines(text: string): Generator<{ text: string; line: number }> {
  const lines = text.split('\n');
  let helpIndent: number | undefined;
  let inHelp = false;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index].replace(/\r$/, '');
    if (inHelp) {
      if (raw.trim() === '') continue;
      const indent = indentWidth(raw);
      if (helpIndent === undefined && indent > 0) {
        helpIndent = indent;
        continue;
      }
      if (helpIndent !== undefined && indent >= helpIndent) continue;
      inHelp = false;
    }
    const line = index + 1;
    let joined = raw;
    while (joined.endsWith('\\') && index + 1 < lines.length) {
      joined = `${joined.slice(0, -1).trimEnd()} ${lines[++index].replace(/\r$/, '').trimStart()}`;
    }
    const statement = stripComment(joined).trim();
    if (statement === '') continue;
    if (statement === 'help' || statement === '---help---') {
      inHelp = true;
      helpIndent = undefined;
      continue;
    }
    yield { text: statement, line };
  }
}

function indentWidth(line: string): number {
  let width = 0;
  for (const character of line) {
    if (character === ' ') width++;
    else if (character === '\t') width = (Math.floor(width / TAB_WIDTH) + 1) * TAB_WIDTH;
    else break;
  }
  return width;
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index++) {
    const character = line[index];
    if (quote) {
      if (character === '\\') index++;
      else if (character === quote) quote = undefined;
    } else if (character === '"' || character === "'") {
      quote = character;
    } else if (character === '#') {
      return line.slice(0, index);
    }
  }
  return line;
}
