import { promises as fs } from 'fs';
import { KernelBuildError, isKernelBuildError } from '@linuxkit-kernels/errors';
import { CommitMessage, parseCommitMessage } from './mail-message';
import { assertPatchPathsInsideTree, ParsedPatch } from './parse-patch';
import { PatchFile } from './patch-series';
import { FileDiff, parseFileDiffs } from './unified-diff';

/** The patch rules of the series (LinuxKit's kernel README), each with the id a violation names. */
export const PATCH_RULES = [
  { id: 'git-am-format', description: 'a `git format-patch` mail: the `From <sha>` line, From: and Subject: headers, a commit message beyond the subject, and a diff' },
  { id: 'signed-off-by', description: 'at least one `Signed-off-by: Name <email>` trailer (the Developer Certificate of Origin)' },
  { id: 'numbered-name', description: 'named `NNNN-<slug>.patch`; the 4-digit prefix orders the series and is unique in it' },
  { id: 'cherry-pick', description: 'a backport carries `(cherry picked from commit <40-hex sha>)`, as `git cherry-pick -x` writes it' },
  { id: 'origin', description: 'a patch from a mailing list or another tree (not a `-x` cherry-pick) has an `Origin:` line naming its source' },
  { id: 'paths', description: 'every path in the diff is relative to the kernel tree root, none outside it' },
] as const;

export type PatchRuleId = (typeof PATCH_RULES)[number]['id'];

export interface PatchViolation {
  /** The patch as messages name it, e.g. kernels/6.12/patches/0003-foo.patch. */
  file: string;
  /** 1-based line of the patch file the violation is about. */
  line: number;
  rule: PatchRuleId;
  /** What to do about it. */
  message: string;
}

/** A patch of the series and how messages name it (patchDisplayPath, or a path relative to the workspace). */
export interface SeriesPatchFile extends PatchFile {
  displayPath: string;
}

/** `kernels/6.12/patches/0003-foo.patch:12: signed-off-by: add a Signed-off-by: …`: the compiler-style line editors jump to. */
export function formatViolation(violation: PatchViolation): string {
  return `${violation.file}:${violation.line}: ${violation.rule}: ${violation.message}`;
}

/** Checks every patch of a series against PATCH_RULES; in series order, then by line. */
export async function lintPatchSeries(files: SeriesPatchFile[]): Promise<PatchViolation[]> {
  const patches: PatchText[] = [];
  for (const file of files) {
    const text = await fs.readFile(file.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new KernelBuildError(`cannot read patch ${file.displayPath}: ${error.code ?? error.message}`, 'Check the series: the patch list names a file that is not there.');
    });
    patches.push({ name: file.name, displayPath: file.displayPath, text });
  }
  return lintPatchTexts(patches);
}

interface PatchText {
  name: string;
  displayPath: string;
  text: string;
}

/** A patch split into lines, with its message and where its parts are (0-based line indexes). */
interface PatchLayout {
  lines: string[];
  message: CommitMessage;
  isMail: boolean;
  /** First line after the commit message: the `---` separator or the diff. */
  messageEnd: number;
  bodyStart: number;
  /** First line of the message's last paragraph, where the trailers are (or belong). */
  trailerBlock: number;
}

type Finding = Omit<PatchViolation, 'file'>;

function lintPatchTexts(patches: PatchText[]): PatchViolation[] {
  const duplicates = duplicatePrefixFindings(patches);
  return patches.flatMap((patch) => {
    const findings = [...lintPatch(patch), ...(duplicates.get(patch) ?? [])];
    const ruleOrder = (rule: PatchRuleId) => PATCH_RULES.findIndex((candidate) => candidate.id === rule);
    findings.sort((a, b) => a.line - b.line || ruleOrder(a.rule) - ruleOrder(b.rule));
    return findings.map((finding) => ({ file: patch.displayPath, ...finding }));
  });
}

function lintPatch(patch: PatchText): Finding[] {
  const layout = layoutOf(patch.text);
  const diff = readDiff(layout, patch.displayPath);
  const findings = [...nameFindings(patch.name), ...formatFindings(layout), ...diff.findings, ...pathFindings({ fileName: patch.displayPath, ...layout.message, files: diff.files })];
  // Without a commit message the message rules would only repeat that there is none.
  if (!layout.isMail) return findings;
  return [...findings, ...signOffFindings(layout), ...cherryPickFindings(layout), ...originFindings(layout)];
}

function layoutOf(text: string): PatchLayout {
  // Split as parsePatch does, so line indexes are the ones its diff parser reports.
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (text.endsWith('\n')) lines.pop();
  const { message, end } = parseCommitMessage(lines);
  const isMail = Boolean(message.commit || message.from || message.subject || message.date);
  const bodyStart = isMail ? lines.findIndex((line) => line === '') + 1 || end : 0;
  let lastBodyLine = end - 1;
  while (lastBodyLine >= bodyStart && lines[lastBodyLine].trim() === '') lastBodyLine--;
  let trailerBlock = lastBodyLine;
  while (trailerBlock > bodyStart && lines[trailerBlock - 1].trim() !== '') trailerBlock--;
  return { lines, message, isMail, messageEnd: end, bodyStart, trailerBlock: lastBodyLine < bodyStart ? end : trailerBlock };
}

/** 1-based line of the first line in [start, end) matching `pattern`, or undefined. */
function findLine(layout: PatchLayout, pattern: RegExp, start: number, end: number): number | undefined {
  for (let index = start; index < Math.min(end, layout.lines.length); index++) if (pattern.test(layout.lines[index])) return index + 1;
  return undefined;
}

function headerLine(layout: PatchLayout, name: string): number | undefined {
  return layout.isMail ? findLine(layout, new RegExp(`^${name}:`, 'i'), 0, layout.bodyStart) : undefined;
}

/** The `---` separator (or the first diff line), or the last line when the file has no diff. */
function messageEndLine(layout: PatchLayout): number {
  return Math.min(layout.messageEnd + 1, Math.max(layout.lines.length, 1));
}

const NUMBERED_NAME = /^(\d{4})-[A-Za-z0-9_][A-Za-z0-9._+-]*\.patch$/;

function nameFindings(name: string): Finding[] {
  if (NUMBERED_NAME.test(name)) return [];
  const numbered = /^(\d{1,3})-(.+)\.patch$/.exec(name);
  const suggestion = numbered ? ` (e.g. ${numbered[1].padStart(4, '0')}-${numbered[2]}.patch)` : '';
  return [{ line: 1, rule: 'numbered-name', message: `rename the file NNNN-<slug>.patch${suggestion}: a 4-digit prefix orders the series, as git format-patch names files` }];
}

/** Every patch after the first with a given prefix, naming both files. */
function duplicatePrefixFindings(patches: PatchText[]): Map<PatchText, Finding[]> {
  const firstByPrefix = new Map<string, string>();
  const findings = new Map<PatchText, Finding[]>();
  for (const patch of patches) {
    const prefix = NUMBERED_NAME.exec(patch.name)?.[1];
    if (prefix === undefined) continue;
    const first = firstByPrefix.get(prefix);
    if (first === undefined) firstByPrefix.set(prefix, patch.name);
    else findings.set(patch, [{ line: 1, rule: 'numbered-name', message: `renumber ${patch.name} or ${first}: both have the prefix ${prefix}, so their order is left to the rest of the name` }]);
  }
  return findings;
}

// Trailer-looking lines (`Key: value`, `(cherry picked …)`, folded values): not commit message text.
const TRAILER_LIKE = /^(?:[A-Za-z0-9][A-Za-z0-9-]*:(?:[ \t]|$)|\(cherry picked from commit |[ \t])/;

function formatFindings(layout: PatchLayout): Finding[] {
  const fix = 'export the commit with git format-patch';
  if (!layout.isMail) {
    return [{ line: 1, rule: 'git-am-format', message: 'commit the change with a message and export it with git format-patch: this is a plain diff, which git am cannot take' }];
  }
  const findings: Finding[] = [];
  if (!layout.message.commit) findings.push({ line: 1, rule: 'git-am-format', message: `start the file with the "From <sha> Mon Sep 17 00:00:00 2001" line of a mail: ${fix}` });
  if (!layout.message.from) findings.push({ line: headerLine(layout, 'From') ?? 1, rule: 'git-am-format', message: `add a From: header naming the author: ${fix}` });
  const subjectLine = headerLine(layout, 'Subject');
  if (!layout.message.subject) findings.push({ line: subjectLine ?? 1, rule: 'git-am-format', message: `add a Subject: header summing up the change: ${fix}` });
  else if (!hasDescription(layout)) {
    findings.push({ line: subjectLine ?? 1, rule: 'git-am-format', message: 'write a commit message below the subject saying what the change does and why' });
  }
  return findings;
}

function hasDescription(layout: PatchLayout): boolean {
  const { lines, bodyStart, trailerBlock, messageEnd } = layout;
  const isText = (line: string, index: number) => line.trim() !== '' && (index < trailerBlock || !TRAILER_LIKE.test(line));
  return lines.slice(bodyStart, messageEnd).some((line, offset) => isText(line, bodyStart + offset));
}

/** The diff's files, or the finding that it has none or is damaged (checked like the build does). */
function readDiff(layout: PatchLayout, fileName: string): { files: FileDiff[]; findings: Finding[] } {
  let files: FileDiff[];
  try {
    files = parseFileDiffs(layout.lines, layout.messageEnd, fileName);
  } catch (error) {
    if (!isKernelBuildError(error)) throw error;
    // The parser names the damaged hunk or diff by its line in its message.
    const line = Number(/\bline (\d+)\b/.exec(error.message)?.[1] ?? messageEndLine(layout));
    const problem = error.message.startsWith(`${fileName}: `) ? error.message.slice(fileName.length + 2) : error.message;
    return { files: [], findings: [{ line, rule: 'git-am-format', message: `regenerate the patch with git format-patch (or fix the hunk counts by hand): ${problem}` }] };
  }
  if (files.length > 0) return { files, findings: [] };
  return { files, findings: [{ line: messageEndLine(layout), rule: 'git-am-format', message: 'add the change itself: the file has no diff (export the commit with git format-patch)' }] };
}

const EMAIL = /<([^<>\s]+@[^<>\s]+)>/;

function signOffFindings(layout: PatchLayout): Finding[] {
  const { signedOffBy: signOffs, all } = layout.message.trailers;
  // At the trailer block, or where it belongs: above the `---` separator.
  const line = all.length > 0 ? layout.trailerBlock + 1 : messageEndLine(layout);
  if (signOffs.length === 0) return [{ line, rule: 'signed-off-by', message: 'add a Signed-off-by: line (git commit -s) certifying the DCO' }];
  if (!signOffs.some((signOff) => EMAIL.test(signOff))) {
    return [{ line: findLine(layout, /^Signed-off-by:/i, layout.trailerBlock, layout.messageEnd) ?? line, rule: 'signed-off-by', message: 'write the Signed-off-by: line as "Name <email>" (git commit -s does)' }];
  }
  return [];
}

// What a backport's message says about itself: the stable tree's `commit <sha> upstream.` and
// `[ Upstream commit <sha> ]`, or the words. Heuristic: a message merely discussing backports also counts.
const BACKPORT_CLAIMS = [/\bcommit [0-9a-f]{7,64} upstream\b/i, /\bupstream commit\b/i, /\bback-?port(?:s|ed|ing)?\b/i, /\bcherry[- ]pick(?:s|ed|ing)?\b/i];
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

function cherryPickFindings(layout: PatchLayout): Finding[] {
  const cherryPicked = layout.message.trailers.cherryPickedFrom;
  if (cherryPicked.some((sha) => FULL_SHA.test(sha))) return [];
  const abbreviated = findLine(layout, /^\(cherry picked from commit /, layout.bodyStart, layout.messageEnd);
  if (abbreviated !== undefined) {
    return [{ line: abbreviated, rule: 'cherry-pick', message: 'write the full 40-hex commit id in "(cherry picked from commit <sha>)", as git cherry-pick -x does' }];
  }
  const claims = (line: string) => !line.trim().startsWith('(cherry picked from commit ') && BACKPORT_CLAIMS.some((claim) => claim.test(line));
  const subjectLine = headerLine(layout, 'Subject');
  const candidates = [...(subjectLine === undefined ? [] : [subjectLine - 1]), ...range(layout.bodyStart, layout.messageEnd)];
  const claim = candidates.find((index) => claims(layout.lines[index]));
  if (claim === undefined) return [];
  return [
    {
      line: claim + 1,
      rule: 'cherry-pick',
      message: `cherry-pick it with git cherry-pick -x so it carries "(cherry picked from commit <sha>)": its message says it is a backport ("${layout.lines[claim].trim()}")`,
    },
  ];
}

// Archives of mailing-list postings: a Link: there means the patch was taken from a list.
const MAILING_LIST_LINK = /^https?:\/\/(?:lore\.kernel\.org|lkml\.kernel\.org|patch\.msgid\.link|(?:[\w-]+\.)*patchwork\.[\w.-]+|marc\.info|lkml\.org|(?:www\.)?spinics\.net|(?:www\.)?mail-archive\.com|lists\.[\w.-]+)\//i;

/**
 * A patch needs an Origin: when it was not written for this project and does not name its
 * source otherwise. "Not written here" is judged from what such patches carry: a Link: to a
 * mailing-list archive, a Message-Id (git format-patch writes none for a local commit; a mail
 * saved from a list has one), or an author who is none of the signers (someone else's work,
 * DCO clause (b)/(c)). A `-x` cherry-pick names its source commit already. Cost of the last
 * heuristic: an author signing off with another address must add Origin: or fix the address.
 */
function originFindings(layout: PatchLayout): Finding[] {
  const { trailers, from } = layout.message;
  if (trailers.origin.some((origin) => origin.trim() !== '') || trailers.cherryPickedFrom.length > 0) return [];
  const fix = 'add an Origin: line after the Signed-off-by lines linking to where this patch came from';
  const link = trailers.all.find((trailer) => trailer.key.toLowerCase() === 'link' && MAILING_LIST_LINK.test(trailer.value));
  if (link) {
    const line = findLine(layout, /^Link:/i, layout.trailerBlock, layout.messageEnd) ?? layout.trailerBlock + 1;
    return [{ line, rule: 'origin', message: `${fix}: it links a mailing-list posting (${link.value})` }];
  }
  const messageId = headerLine(layout, 'Message-Id') ?? findLine(layout, /^Message-Id:/i, layout.trailerBlock, layout.messageEnd);
  if (messageId !== undefined) return [{ line: messageId, rule: 'origin', message: `${fix}: it has a Message-Id, so it came from a mail` }];
  const author = emailOf(from);
  // Sign-offs without an address are the signed-off-by rule's to report, not a sign of another author.
  const signers = trailers.signedOffBy.filter((signOff) => EMAIL.test(signOff)).map(emailOf);
  if (author && signers.length > 0 && !signers.includes(author)) {
    return [{ line: headerLine(layout, 'From') ?? 1, rule: 'origin', message: `${fix}: its author ${author} did not sign it off, so it was written elsewhere` }];
  }
  return [];
}

function emailOf(identity: string): string {
  return (EMAIL.exec(identity)?.[1] ?? identity).trim().toLowerCase();
}

function pathFindings(patch: ParsedPatch): Finding[] {
  const findings: Finding[] = [];
  for (const file of patch.files) {
    // assertPatchPathsInsideTree decides, as in the build; asked one path at a time so the offender is named.
    const outside = file.headerPaths.find((headerPath) => throwsBuildError(() => assertPatchPathsInsideTree({ ...patch, files: [{ ...file, headerPaths: [headerPath] }] })));
    if (outside !== undefined) {
      findings.push({ line: file.line, rule: 'paths', message: `make the paths relative to the kernel tree root, with no "..": ${outside} is outside the tree (export the commit with git format-patch from the kernel tree)` });
    }
  }
  return findings;
}

function throwsBuildError(check: () => void): boolean {
  try {
    check();
    return false;
  } catch (error) {
    if (isKernelBuildError(error)) return true;
    throw error;
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(end - start, 0) }, (_, offset) => start + offset);
}
