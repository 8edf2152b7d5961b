/** A commit message as `git am` reads it from a `git format-patch` mail. */
export interface CommitMessage {
  /** The commit sha from the mbox `From <sha> Mon Sep 17 00:00:00 2001` line. */
  commit?: string;
  from: string;
  date: string;
  /** Without `[PATCH n/m]`-style prefixes, unfolded and decoded. */
  subject: string;
  /** The text between the headers and the `---` separator (or the diff), trimmed. */
  body: string;
  trailers: PatchTrailers;
}

export interface Trailer {
  key: string;
  value: string;
}

export interface PatchTrailers {
  signedOffBy: string[];
  origin: string[];
  /** Shas from `(cherry picked from commit <sha>)` lines, as `git cherry-pick -x` writes them. */
  cherryPickedFrom: string[];
  /** Every `Key: value` line of the message's last paragraph, in order (Signed-off-by included). */
  all: Trailer[];
}

const MBOX_SEPARATOR = /^From ([0-9a-f]{7,64}) /;
const HEADER = /^([\x21-\x39\x3b-\x7e]+):[ \t]?(.*)$/;
const IN_BODY_HEADER = /^(From|Subject|Date):[ \t]*(.*)$/;
const TRAILER = /^([A-Za-z0-9][A-Za-z0-9-]*):(?:[ \t]+(.*)|)$/;
const CHERRY_PICKED = /^\(cherry picked from commit ([0-9a-f]{7,64})\)$/;
// Where `git am` (mailinfo) stops reading the message: the `---` separator or a diff.
const MESSAGE_END = /^(?:---(?:\s|$)|diff -|Index: )/;
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
const SPACE_BETWEEN_ENCODED_WORDS = /(\?=)\s+(?==\?)/g;

/** The index of the first line after the commit message: where the diff part may start. */
function messageEnd(lines: string[], start: number): number {
  let index = start;
  while (index < lines.length && !MESSAGE_END.test(lines[index])) index++;
  return index;
}

/**
 * Reads the mail headers at the top of `lines`. Returns undefined when the text does not start
 * with a mail header block (a plain `diff -u` or `git diff`, or a quilt description).
 */
function readMailHeaders(lines: string[]): { commit?: string; headers: Map<string, string>; bodyStart: number } | undefined {
  let index = 0;
  let commit: string | undefined;
  const separator = MBOX_SEPARATOR.exec(lines[0] ?? '');
  if (separator) {
    commit = separator[1];
    index = 1;
  }
  const headers = new Map<string, string>();
  let lastKey: string | undefined;
  for (; index < lines.length; index++) {
    const line = lines[index];
    if (line === '') break;
    if (/^[ \t]/.test(line) && lastKey) {
      headers.set(lastKey, headers.get(lastKey) + line);
      continue;
    }
    const header = HEADER.exec(line);
    if (!header) return undefined;
    lastKey = header[1].toLowerCase();
    headers.set(lastKey, header[2]);
  }
  if (!['from', 'subject', 'date'].some((key) => headers.has(key))) return undefined;
  return { commit, headers, bodyStart: index + 1 };
}

/** Parses the commit message of a mail (or of a headerless diff's leading description). */
export function parseCommitMessage(lines: string[]): { message: CommitMessage; end: number } {
  const mail = readMailHeaders(lines);
  const start = mail?.bodyStart ?? 0;
  const end = messageEnd(lines, start);
  const bodyLines = lines.slice(start, end);
  const headers = new Map(mail?.headers ?? []);
  applyInBodyHeaders(bodyLines, headers);
  const body = trimBlankLines(bodyLines).join('\n');
  return {
    end,
    message: {
      commit: mail?.commit,
      from: decodeEncodedWords(headers.get('from') ?? ''),
      date: headers.get('date') ?? '',
      subject: stripSubjectPrefixes(decodeEncodedWords(headers.get('subject') ?? '')),
      body,
      trailers: parseTrailers(body),
    },
  };
}

// `git am` lets the first body lines override From/Subject/Date (a patch sent on someone's behalf).
function applyInBodyHeaders(bodyLines: string[], headers: Map<string, string>): void {
  while (bodyLines.length > 0 && bodyLines[0].trim() === '') bodyLines.shift();
  let count = 0;
  while (count < bodyLines.length && IN_BODY_HEADER.test(bodyLines[count])) count++;
  if (count === 0 || (count < bodyLines.length && bodyLines[count].trim() !== '')) return;
  for (const line of bodyLines.splice(0, count)) {
    const [, key, value] = IN_BODY_HEADER.exec(line)!;
    headers.set(key.toLowerCase(), value);
  }
}

/** Drops leading `[PATCH v2 3/5]`, `[RFC]`, `Re:` … the way `git am` does. */
export function stripSubjectPrefixes(subject: string): string {
  let rest = subject.trim();
  for (;;) {
    const bracket = /^\[[^\]]*\]\s*/.exec(rest);
    const reply = /^re:\s*/i.exec(rest);
    const prefix = bracket ?? reply;
    if (!prefix) return rest;
    rest = rest.slice(prefix[0].length);
  }
}

/** Decodes RFC 2047 words (`=?UTF-8?q?J=C3=B6rg?=`), which git format-patch writes for non-ASCII names. */
export function decodeEncodedWords(value: string): string {
  return value.replace(SPACE_BETWEEN_ENCODED_WORDS, '$1').replace(ENCODED_WORD, (word, charset: string, encoding: string, text: string) => {
    const bytes =
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      return word;
    }
  });
}

export function parseTrailers(body: string): PatchTrailers {
  const lines = body.split('\n').map((line) => line.trimEnd());
  const lastParagraph = lines.slice(lines.lastIndexOf('') + 1);
  const all: Trailer[] = [];
  for (const line of lastParagraph) {
    const trailer = TRAILER.exec(line);
    if (trailer) all.push({ key: trailer[1], value: (trailer[2] ?? '').trim() });
    else if (/^[ \t]/.test(line) && all.length > 0) all[all.length - 1].value += ` ${line.trim()}`;
  }
  const valuesOf = (key: string) => all.filter((trailer) => trailer.key.toLowerCase() === key.toLowerCase()).map((trailer) => trailer.value);
  return {
    signedOffBy: valuesOf('Signed-off-by'),
    origin: valuesOf('Origin'),
    cherryPickedFrom: lines.map((line) => CHERRY_PICKED.exec(line.trim())?.[1]).filter((sha): sha is string => Boolean(sha)),
    all,
  };
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === '') start++;
  while (end > start && lines[end - 1].trim() === '') end--;
  return lines.slice(start, end).map((line) => line.trimEnd());
}
