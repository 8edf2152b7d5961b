import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { formatViolation, lintPatchSeries, listSeriesPatches, rebasePatchSeries } from '@linuxkit-kernels/patches';
import { resolveStep, StepContext } from './steps';

/** The patch rules over the project's own patches/ (a base's patches are linted by the base). */
export async function lintPatchesStep(context: StepContext): Promise<{ checked: number }> {
  const { project } = resolveStep(context);
  const ownDir = project.patchDirs[0];
  const patches = await listSeriesPatches(path.join(context.workspaceRoot, ownDir));
  const violations = await lintPatchSeries(patches.map((patch) => ({ ...patch, displayPath: `${ownDir}/${patch.name}` })));
  if (violations.length > 0) {
    throw new KernelBuildError(
      `${violations.length} patch rule violation(s) in ${ownDir}`,
      'fix each line above; the rules are listed in README.md under "Patch rules"',
      violations.map(formatViolation).join('\n'),
    );
  }
  context.log(`${ownDir}: ${patches.length} patch(es) follow the rules`);
  return { checked: patches.length };
}

/**
 * Moves the project's own patches from the tag of its current version onto a new tag in a
 * linux-stable checkout and exports them back into kernels/<dir>/patches.
 */
export async function rebasePatchesStep(context: StepContext & { repo?: string; to?: string; from?: string }): Promise<{ exported: string[] }> {
  const { project } = resolveStep(context);
  if (!context.repo) throw new KernelBuildError('rebase-patches needs --repo=<path to a linux-stable git checkout>', 'clone linux-stable once and pass its path');
  if (!context.to) throw new KernelBuildError('rebase-patches needs --to=<tag>, e.g. --to=v6.12.119', 'pass the tag to rebase onto');
  const ownDir = project.patchDirs[0];
  const outDir = path.join(context.workspaceRoot, ownDir);
  const patches = await listSeriesPatches(outDir);
  const fromTag = context.from ?? `v${project.version}`;
  const result = await rebasePatchSeries({ repo: path.resolve(context.workspaceRoot, context.repo), fromTag, toTag: context.to, patches, outDir, log: context.log });
  context.log(`${ownDir}: ${result.exported.length} patch(es) rebased from ${fromTag} onto ${context.to} (branch ${result.branch}); update version in ${project.file}`);
  return { exported: result.exported };
}
