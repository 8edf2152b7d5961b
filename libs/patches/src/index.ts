export { parsePatch, assertPatchPathsInsideTree } from './parse-patch';
export type { ParsedPatch } from './parse-patch';
export type { CommitMessage, PatchTrailers, Trailer } from './mail-message';
export type { FileDiff, FileChange, Hunk } from './unified-diff';
export { preparePatchedTree } from './prepare-patched-tree';
export type { PreparePatchedTreeOptions, PatchedTree } from './prepare-patched-tree';
export { listSeriesPatches, patchSeriesDigest } from './patch-series';
export type { PatchFile } from './patch-series';
