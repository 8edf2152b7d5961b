/** Why GNU patch refused (part of) a patch, read from what it printed. */
export type PatchProblem =
  | { kind: 'hunk-failed'; file: string; hunk: number; line: number }
  | { kind: 'reversed'; file: string }
  | { kind: 'missing-file'; file?: string; inputLine?: number }
  | { kind: 'already-exists'; file: string }
  | { kind: 'other'; file?: string; message: string };

/** A hunk that only applies with fuzz (context lines that differ from the tree). */
export interface FuzzedHunk {
  file: string;
  hunk: number;
  fuzz: number;
}

// GNU patch 2.7 output, read under LC_ALL=C with --quoting-style=literal.
const CURRENT_FILE = /^(?:checking|patching) file (.+?)(?: \((?:renamed|copied) from .+\))?$/;
const HUNK_FAILED = /^Hunk #(\d+) FAILED at (\d+)/;
const HUNK_FUZZED = /^Hunk #(\d+) succeeded at \d+ with fuzz (\d+)/;
const REVERSED = /^Reversed \(or previously applied\) patch detected!/;
const MISSING_FILE = /^can't find file to patch at input line (\d+)/;
const WOULD_CREATE_EXISTING = /^The next patch would create the file (.+), which already exists!/;
const WOULD_DELETE_MISSING = /^The next patch would delete the file (.+), which does not exist!/;
const FATAL = /^patch: \*\*\*\* (.+)$/;
const FILE_MESSAGE = /^File (.+): (.+)$/;

export function parsePatchProblems(output: string): PatchProblem[] {
  const problems: PatchProblem[] = [];
  let file: string | undefined;
  for (const line of output.split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = CURRENT_FILE.exec(line))) file = match[1];
    else if ((match = HUNK_FAILED.exec(line))) problems.push({ kind: 'hunk-failed', file: file ?? '?', hunk: Number(match[1]), line: Number(match[2]) });
    else if (REVERSED.test(line)) problems.push({ kind: 'reversed', file: file ?? '?' });
    else if ((match = MISSING_FILE.exec(line))) problems.push({ kind: 'missing-file', inputLine: Number(match[1]) });
    else if ((match = WOULD_CREATE_EXISTING.exec(line))) problems.push({ kind: 'already-exists', file: match[1] });
    else if ((match = WOULD_DELETE_MISSING.exec(line))) problems.push({ kind: 'missing-file', file: match[1] });
    else if ((match = FATAL.exec(line))) problems.push({ kind: 'other', file, message: match[1] });
    else if ((match = FILE_MESSAGE.exec(line))) problems.push({ kind: 'other', file: match[1], message: match[2] });
  }
  return problems;
}

export function parseFuzzedHunks(output: string): FuzzedHunk[] {
  const fuzzed: FuzzedHunk[] = [];
  let file = '?';
  for (const line of output.split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = CURRENT_FILE.exec(line))) file = match[1];
    else if ((match = HUNK_FUZZED.exec(line))) fuzzed.push({ file, hunk: Number(match[1]), fuzz: Number(match[2]) });
  }
  return fuzzed;
}

/** One problem as a user reads it: `mm/slab.c hunk 2 fails at line 123`. */
export function describePatchProblem(problem: PatchProblem, fuzzed: FuzzedHunk[] = []): string {
  switch (problem.kind) {
    case 'hunk-failed': {
      const fuzz = fuzzed.find((hunk) => hunk.file === problem.file && hunk.hunk === problem.hunk);
      const why = fuzz ? ` (it needs fuzz ${fuzz.fuzz}: its context lines differ from this kernel, and no fuzz is allowed)` : '';
      return `${problem.file} hunk ${problem.hunk} fails at line ${problem.line}${why}`;
    }
    case 'reversed':
      return `${problem.file} already has this change (reversed or previously applied patch)`;
    case 'missing-file':
      return `${problem.file ?? 'a file'} does not exist in this kernel tree${problem.inputLine ? ` (patch line ${problem.inputLine})` : ''}`;
    case 'already-exists':
      return `${problem.file} already exists, but the patch creates it`;
    case 'other':
      return problem.file ? `${problem.file}: ${problem.message}` : problem.message;
  }
}

/** The problems that mean "this change is already in the tree" rather than "the tree moved on". */
export function isAlreadyApplied(problems: PatchProblem[]): boolean {
  return problems.length > 0 && problems.every((problem) => problem.kind === 'reversed' || problem.kind === 'already-exists');
}
