import { KernelBuildError } from '@linuxkit-kernels/errors';
import { CommitMessage, parseCommitMessage } from './mail-message';
import { FileDiff, parseFileDiffs } from './unified-diff';

/** A patch file: its commit message (empty fields for a bare diff) and the files it changes. */
export interface ParsedPatch extends CommitMessage {
  fileName: string;
  files: FileDiff[];
}

/**
 * Parses a patch in `git format-patch` (mbox, as `git am` takes it) format, or a bare
 * `diff -u` / `git diff`. Refuses text with no diff in it.
 */
export function parsePatch(text: string, fileName: string): ParsedPatch {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  // The newline ending the last line does not start another (empty) one, which a hunk would count.
  if (text.endsWith('\n')) lines.pop();
  const { message, end } = parseCommitMessage(lines);
  const files = parseFileDiffs(lines, end, fileName);
  if (files.length === 0) {
    throw new KernelBuildError(
      `${fileName} is not a patch: it contains no diff`,
      'Export the change with `git format-patch` (a patch file holds a commit message and a unified diff), or remove the file from the patches directory.',
    );
  }
  return { fileName, ...message, files };
}

/** Refuses a patch that would write outside the tree it is applied to (absolute paths, `..`). */
export function assertPatchPathsInsideTree(patch: ParsedPatch): void {
  for (const file of patch.files) {
    for (const path of file.headerPaths) {
      if (path.startsWith('/') || path.split('/').includes('..')) {
        throw new KernelBuildError(
          `${patch.fileName} changes ${path}, which is outside the kernel tree (line ${file.line})`,
          'Paths in a patch must be relative to the kernel tree root, with no "..": regenerate it with `git format-patch` from the kernel tree.',
        );
      }
    }
  }
}
