import { describePatchProblem, isAlreadyApplied, parseFuzzedHunks, parsePatchProblems } from './gnu-patch-output';

// Printed by GNU patch 2.7.6 under LC_ALL=C.
const FAILED_HUNKS = [
  'checking file kernel/sched.c',
  'checking file mm/slab.c',
  'Hunk #2 FAILED at 123.',
  'Hunk #3 FAILED at 140 (different line endings).',
  '2 out of 3 hunks FAILED',
].join('\n');
const REVERSED = ['checking file mm/slab.c', 'Reversed (or previously applied) patch detected!  Skipping patch.', '1 out of 1 hunk ignored'].join('\n');
const MISSING = [
  "can't find file to patch at input line 15",
  'Perhaps you used the wrong -p or --strip option?',
  'The text leading up to this was:',
  '--------------------------',
  '|--- a/drivers/gone.c',
  '|+++ b/drivers/gone.c',
  '--------------------------',
  'No file to patch.  Skipping patch.',
  '1 out of 1 hunk ignored',
].join('\n');

describe('parsePatchProblems', () => {
  it('names the file and the line of each failed hunk', () => {
    expect(parsePatchProblems(FAILED_HUNKS)).toEqual([
      { kind: 'hunk-failed', file: 'mm/slab.c', hunk: 2, line: 123 },
      { kind: 'hunk-failed', file: 'mm/slab.c', hunk: 3, line: 140 },
    ]);
  });

  it('recognises a reversed or already applied patch', () => {
    expect(parsePatchProblems(REVERSED)).toEqual([{ kind: 'reversed', file: 'mm/slab.c' }]);
    expect(isAlreadyApplied(parsePatchProblems(REVERSED))).toBe(true);
    expect(isAlreadyApplied(parsePatchProblems(FAILED_HUNKS))).toBe(false);
  });

  it('keeps the input line of a file that cannot be found (patch prints no name for it)', () => {
    expect(parsePatchProblems(MISSING)).toEqual([{ kind: 'missing-file', inputLine: 15 }]);
  });

  it('recognises a created file that already exists, and fatal errors', () => {
    const output = ['The next patch would create the file drivers/new.c, which already exists!  Skipping patch.', 'patch: **** malformed patch at line 20: @@ -1 +1 @@'].join('\n');
    expect(parsePatchProblems(output)).toEqual([
      { kind: 'already-exists', file: 'drivers/new.c' },
      { kind: 'other', file: undefined, message: 'malformed patch at line 20: @@ -1 +1 @@' },
    ]);
  });
});

describe('describePatchProblem', () => {
  it('says which hunk of which file fails where', () => {
    expect(describePatchProblem({ kind: 'hunk-failed', file: 'mm/slab.c', hunk: 2, line: 123 })).toBe('mm/slab.c hunk 2 fails at line 123');
  });

  it('says when the hunk would only apply with fuzz', () => {
    const fuzzed = parseFuzzedHunks(['checking file mm/slab.c', 'Hunk #2 succeeded at 124 with fuzz 1 (offset 1 line).'].join('\n'));
    expect(fuzzed).toEqual([{ file: 'mm/slab.c', hunk: 2, fuzz: 1 }]);
    expect(describePatchProblem({ kind: 'hunk-failed', file: 'mm/slab.c', hunk: 2, line: 123 }, fuzzed)).toMatch(/hunk 2 fails at line 123 \(it needs fuzz 1/);
  });
});
