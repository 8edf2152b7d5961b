import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { describePatchProblem, isAlreadyApplied, parseFuzzedHunks, parsePatchProblems, PatchProblem } from './gnu-patch-output';
import { ParsedPatch } from './parse-patch';
import { PatchFile, patchDisplayPath } from './patch-series';

export interface PatchRun {
  ok: boolean;
  exitCode: number;
  /** stdout and stderr, interleaved as patch printed them. */
  output: string;
}

// Zero fuzz and forward only, as the original build does; -r - because a failed hunk must not
// leave .rej files in a tree that make later walks. The patch itself comes on stdin, so what runs
// is exactly the content that was hashed.
const COMMON_ARGS = ['-p1', '-F0', '--no-backup-if-mismatch', '--quoting-style=literal', '-r', '-'];

export function applyPatchArgs(options: { dryRun?: boolean } = {}): string[] {
  return [...COMMON_ARGS, '-N', ...(options.dryRun ? ['--dry-run'] : [])];
}

export function reversePatchArgs(): string[] {
  return ['-R', ...COMMON_ARGS];
}

/** Only to explain a failure: whether the hunks would apply with GNU patch's default fuzz. */
const FUZZ_PROBE_ARGS = ['-p1', '-F2', '-N', '--dry-run', '--quoting-style=literal', '-r', '-'];

export async function runGnuPatch(treeDir: string, args: string[], patchContent: Buffer): Promise<PatchRun> {
  const result = await execa('patch', args, {
    cwd: treeDir,
    reject: false,
    all: true,
    input: patchContent,
    // A new session has no controlling terminal, so patch cannot stop to ask "File to patch:" on /dev/tty.
    detached: true,
    extendEnv: false,
    env: { ...process.env, LC_ALL: 'C', POSIXLY_CORRECT: undefined, QUOTING_STYLE: undefined },
  });
  if (result.failed && result.exitCode === undefined) {
    throw new KernelBuildError(
      `could not run GNU patch in ${treeDir}: ${(result as Partial<execa.ExecaError>).shortMessage ?? 'no exit code'}`,
      result.signal ? 'Run the build again; an interrupted tree is recreated.' : 'Install GNU patch (Debian: apt-get install patch).',
    );
  }
  return { ok: result.exitCode === 0, exitCode: result.exitCode, output: result.all ?? '' };
}

/** The error for a patch that does not apply, naming the patch, the file and the hunks. */
export async function patchDoesNotApplyError(options: {
  patch: PatchFile & { content: Buffer; parsed: ParsedPatch };
  treeDir: string;
  run: PatchRun;
}): Promise<KernelBuildError> {
  const { patch, treeDir, run } = options;
  const problems = parsePatchProblems(run.output).map((problem) => withFileName(problem, patch.parsed));
  const needsProbe = problems.some((problem) => problem.kind === 'hunk-failed');
  const fuzzed = needsProbe ? parseFuzzedHunks((await runGnuPatch(treeDir, FUZZ_PROBE_ARGS, patch.content)).output) : [];
  const reasons = problems.length > 0 ? problems.map((problem) => describePatchProblem(problem, fuzzed)).join('; ') : `patch exited with code ${run.exitCode}`;
  const fix = isAlreadyApplied(problems)
    ? `If this kernel version already has the change (merged upstream or backported to stable), drop ${patchDisplayPath(patch)} from the series; otherwise rebase the patch onto this kernel version.`
    : `Rebase the patch onto this kernel version (e.g. \`nx run <project>:rebase-patches\`) and export it again with git format-patch: patches must apply with zero fuzz.`;
  return new KernelBuildError(`${patchDisplayPath(patch)} does not apply: ${reasons}`, fix, run.output.trimEnd());
}

// "can't find file to patch at input line N" names a line, not a file: find the diff it belongs to.
function withFileName(problem: PatchProblem, parsed: ParsedPatch): PatchProblem {
  if (problem.kind !== 'missing-file' || problem.file || problem.inputLine === undefined) return problem;
  const inputLine = problem.inputLine;
  const file = [...parsed.files].reverse().find((candidate) => candidate.line <= inputLine);
  return { ...problem, file: file?.path };
}
