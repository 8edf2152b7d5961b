import { ExecutorContext, logger } from '@nx/devkit';
import * as path from 'path';
import { isKernelBuildError, isOutOfSpace, outOfSpaceError } from '@linuxkit-kernels/errors';
import { StepContext } from '@linuxkit-kernels/pipeline';

export interface StepOptions {
  arch?: string;
  verbose?: boolean;
}

/**
 * The shell every executor shares: builds the step context, turns Ctrl-C/SIGTERM into an abort
 * that kills make's process group, and reports a KernelBuildError as its message and fix rather
 * than a stack trace. Returns success: false on any failure or interruption.
 */
export async function runStep(
  options: StepOptions,
  context: ExecutorContext,
  step: (stepContext: StepContext) => Promise<unknown>,
): Promise<{ success: boolean }> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn(`${context.projectName}:${context.targetName}: ${signal} received, stopping`);
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    await step({
      workspaceRoot: context.root,
      projectName: context.projectName as string,
      arch: options.arch,
      log: (line) => logger.info(line),
      signal: controller.signal,
    });
    if (!controller.signal.aborted) logger.info(`${context.projectName}:${context.targetName}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { success: !controller.signal.aborted };
  } catch (caught) {
    // A full disk the step did not name itself: name the file it was writing.
    const written = (caught as NodeJS.ErrnoException).path;
    const error = !isKernelBuildError(caught) && isOutOfSpace(caught) ? outOfSpaceError(caught, written ? path.dirname(written) : context.root, written ?? 'its outputs', false) : caught;
    if (isKernelBuildError(error)) {
      logger.error(`${context.projectName}:${context.targetName}: ${error.describe()}`);
      if (options.verbose && error.stack) logger.error(error.stack);
    } else {
      logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    return { success: false };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
