import { KernelBuildError } from '@linuxkit-kernels/errors';

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** 1-based line of the `@@` header in the patch file. */
  line: number;
}

export type FileChange = 'modified' | 'added' | 'deleted' | 'renamed' | 'copied';

/** One file's diff, with its paths as `patch -p1` resolves them inside the tree. */
export interface FileDiff {
  /** The file the diff leaves behind: the new path, or the old one for a deletion ('mm/slab.c'). */
  path: string;
  /** null when the diff creates the file. */
  oldPath: string | null;
  /** null when the diff deletes the file. */
  newPath: string | null;
  change: FileChange;
  binary: boolean;
  /** Every path exactly as the diff headers write it (`a/mm/slab.c`, `rename from …`), /dev/null left out. */
  headerPaths: string[];
  /** 1-based line where this file's diff starts in the patch file. */
  line: number;
  hunks: Hunk[];
}

const GIT_DIFF = 'diff --git ';
const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const GIT_EXTENDED_HEADER = /^(?:old mode|new mode|similarity index|dissimilarity index|index) /;
const DEV_NULL = '/dev/null';

/** Every file diff from `lines[start]` on: `git diff` sections and plain `diff -u` ones. */
export function parseFileDiffs(lines: string[], start: number, fileName: string): FileDiff[] {
  const files: FileDiff[] = [];
  let index = start;
  while (index < lines.length) {
    const line = lines[index];
    let parsed: { file: FileDiff; next: number } | undefined;
    if (line.startsWith(GIT_DIFF)) parsed = parseGitFileDiff(lines, index, fileName);
    else if (line.startsWith('--- ') && lines[index + 1]?.startsWith('+++ ') && HUNK_HEADER.test(lines[index + 2] ?? '')) {
      parsed = parsePlainFileDiff(lines, index, fileName);
    }
    if (parsed) {
      files.push(parsed.file);
      index = parsed.next;
    } else {
      index++;
    }
  }
  return files;
}

function parseGitFileDiff(lines: string[], index: number, fileName: string): { file: FileDiff; next: number } {
  const gitPaths = parseGitDiffPaths(lines[index].slice(GIT_DIFF.length));
  let oldHeader: string | undefined;
  let newHeader: string | undefined;
  let renameFrom: string | undefined;
  let renameTo: string | undefined;
  let copyFrom: string | undefined;
  let copyTo: string | undefined;
  let created = false;
  let deleted = false;
  let binary = false;
  let next = index + 1;
  for (; next < lines.length; next++) {
    const line = lines[next];
    if (line.startsWith('--- ')) oldHeader = headerPath(line.slice(4));
    else if (line.startsWith('+++ ')) {
      newHeader = headerPath(line.slice(4));
      next++;
      break;
    } else if (line.startsWith('new file mode ')) created = true;
    else if (line.startsWith('deleted file mode ')) deleted = true;
    else if (line.startsWith('rename from ')) renameFrom = headerPath(line.slice('rename from '.length));
    else if (line.startsWith('rename to ')) renameTo = headerPath(line.slice('rename to '.length));
    else if (line.startsWith('copy from ')) copyFrom = headerPath(line.slice('copy from '.length));
    else if (line.startsWith('copy to ')) copyTo = headerPath(line.slice('copy to '.length));
    else if (line.startsWith('Binary files ') || line === 'GIT binary patch') binary = true;
    else if (!GIT_EXTENDED_HEADER.test(line)) break;
  }
  const hunks = parseHunks(lines, next, fileName);
  const oldPath = created ? null : pickTreePath(oldHeader, renameFrom ?? copyFrom, gitPaths?.[0]);
  const newPath = deleted ? null : pickTreePath(newHeader, renameTo ?? copyTo, gitPaths?.[1]);
  const change: FileChange =
    oldPath === null ? 'added' : newPath === null ? 'deleted' : renameFrom ? 'renamed' : copyFrom ? 'copied' : 'modified';
  const headerPaths = [oldHeader, newHeader, renameFrom, renameTo, copyFrom, copyTo, ...(gitPaths ?? [])];
  const file = makeFileDiff({ fileName, line: index + 1, oldPath, newPath, change, binary, headerPaths, hunks: hunks.hunks });
  return { file, next: hunks.next };
}

function parsePlainFileDiff(lines: string[], index: number, fileName: string): { file: FileDiff; next: number } {
  const oldHeader = headerPath(lines[index].slice(4));
  const newHeader = headerPath(lines[index + 1].slice(4));
  const hunks = parseHunks(lines, index + 2, fileName);
  // `diff -N` marks a created or deleted file by an empty side, not by /dev/null.
  const onlyHunk = hunks.hunks.length === 1 ? hunks.hunks[0] : undefined;
  const created = oldHeader === DEV_NULL || (onlyHunk?.oldStart === 0 && onlyHunk.oldLines === 0);
  const deleted = newHeader === DEV_NULL || (onlyHunk?.newStart === 0 && onlyHunk.newLines === 0);
  const oldPath = created ? null : treePath(oldHeader);
  const newPath = deleted ? null : treePath(newHeader);
  const change: FileChange = oldPath === null ? 'added' : newPath === null ? 'deleted' : 'modified';
  const file = makeFileDiff({ fileName, line: index + 1, oldPath, newPath, change, binary: false, headerPaths: [oldHeader, newHeader], hunks: hunks.hunks });
  return { file, next: hunks.next };
}

function makeFileDiff(parts: Omit<FileDiff, 'path' | 'headerPaths'> & { fileName: string; headerPaths: (string | undefined)[] }): FileDiff {
  const { fileName, ...file } = parts;
  const path = file.newPath ?? file.oldPath;
  if (!path) {
    throw new KernelBuildError(
      `${fileName}: cannot tell which file the diff at line ${file.line} changes`,
      'Regenerate the patch with git format-patch; its diff headers are damaged.',
    );
  }
  const headerPaths = [...new Set(parts.headerPaths.filter((header): header is string => header !== undefined && header !== DEV_NULL))];
  return { ...file, path, headerPaths };
}

function parseHunks(lines: string[], start: number, fileName: string): { hunks: Hunk[]; next: number } {
  const hunks: Hunk[] = [];
  let next = start;
  while (next < lines.length && lines[next].startsWith('@@ ')) {
    const hunk = parseHunk(lines, next, fileName);
    hunks.push(hunk.hunk);
    next = hunk.next;
  }
  return { hunks, next };
}

function parseHunk(lines: string[], index: number, fileName: string): { hunk: Hunk; next: number } {
  const header = HUNK_HEADER.exec(lines[index]);
  if (!header) throw malformedHunk(fileName, index);
  const hunk: Hunk = {
    oldStart: Number(header[1]),
    oldLines: header[2] === undefined ? 1 : Number(header[2]),
    newStart: Number(header[3]),
    newLines: header[4] === undefined ? 1 : Number(header[4]),
    line: index + 1,
  };
  let oldLeft = hunk.oldLines;
  let newLeft = hunk.newLines;
  let next = index + 1;
  for (; next < lines.length && (oldLeft > 0 || newLeft > 0); next++) {
    const line = lines[next];
    // A mailer may strip the single space of an empty context line; GNU patch accepts that too.
    if (line === '' || line.startsWith(' ')) {
      oldLeft--;
      newLeft--;
    } else if (line.startsWith('-')) oldLeft--;
    else if (line.startsWith('+')) newLeft--;
    else if (!line.startsWith('\\')) break;
  }
  if (oldLeft !== 0 || newLeft !== 0) throw malformedHunk(fileName, index);
  while (lines[next]?.startsWith('\\')) next++;
  return { hunk, next };
}

function malformedHunk(fileName: string, index: number): KernelBuildError {
  return new KernelBuildError(
    `${fileName}: the hunk at line ${index + 1} is malformed (its @@ line counts do not match the lines that follow)`,
    'Regenerate the patch with git format-patch; when editing a patch by hand, keep the @@ counts right.',
  );
}

/** The path from a `---`/`+++`/`rename from` header: unquoted, without diff's trailing tab and date. */
function headerPath(text: string): string {
  if (text.startsWith('"')) return readQuoted(text, 0).value;
  const tab = text.indexOf('\t');
  return tab >= 0 ? text.slice(0, tab) : text.trimEnd();
}

function pickTreePath(prefixedHeader: string | undefined, rootRelative: string | undefined, prefixedGitPath: string | undefined): string | null {
  if (prefixedHeader !== undefined) return treePath(prefixedHeader);
  if (rootRelative !== undefined) return rootRelative;
  return prefixedGitPath === undefined ? null : stripFirstComponent(prefixedGitPath);
}

function treePath(header: string): string | null {
  return header === DEV_NULL ? null : stripFirstComponent(header);
}

/** What `patch -p1` does to a name: drop everything up to and including the first run of slashes. */
function stripFirstComponent(path: string): string {
  return path.replace(/^[^/]*\/+/, '');
}

/** `a/x b/x` from a `diff --git` line; names with spaces are ambiguous there, so renames use their own headers. */
function parseGitDiffPaths(rest: string): [string, string] | undefined {
  if (rest.startsWith('"')) {
    const first = readQuoted(rest, 0);
    const second = rest.slice(first.end + 1);
    return [first.value, second.startsWith('"') ? readQuoted(second, 0).value : second];
  }
  const quotedSecond = rest.indexOf(' "');
  if (quotedSecond >= 0) return [rest.slice(0, quotedSecond), readQuoted(rest, quotedSecond + 1).value];
  if (rest.length % 2 === 1) {
    const middle = (rest.length - 1) / 2;
    const [a, b] = [rest.slice(0, middle), rest.slice(middle + 1)];
    if (rest[middle] === ' ' && stripFirstComponent(a) === stripFirstComponent(b)) return [a, b];
  }
  const split = rest.indexOf(' b/');
  return split >= 0 ? [rest.slice(0, split), rest.slice(split + 1)] : undefined;
}

const C_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** Reads a C-quoted name as git writes it for unusual characters: `"a/tab\there"`, octal UTF-8 bytes. */
function readQuoted(text: string, start: number): { value: string; end: number } {
  const bytes: number[] = [];
  let index = start + 1;
  while (index < text.length && text[index] !== '"') {
    if (text[index] === '\\') {
      const octal = /^[0-7]{3}/.exec(text.slice(index + 1));
      if (octal) {
        bytes.push(parseInt(octal[0], 8));
        index += 4;
        continue;
      }
      bytes.push(C_ESCAPES[text[index + 1]] ?? text.charCodeAt(index + 1));
      index += 2;
      continue;
    }
    const character = String.fromCodePoint(text.codePointAt(index)!);
    bytes.push(...Buffer.from(character, 'utf8'));
    index += character.length;
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: index + 1 };
}
