import { ExecutorContext } from '@nx/devkit';
import {
  bootTestStep,
  compileStep,
  configureStep,
  distroBuildStep,
  distroTestStep,
  fetchStep,
  lintPatchesStep,
  moduleBuildStep,
  moduleTestStep,
  packageStep,
  patchStep,
  PublishOptions,
  pruneWorkDir,
  pushIndexStep,
  pushStep,
  perfStep,
  perfTestStep,
  rebasePatchesStep,
  syncConfigStep,
} from '@linuxkit-kernels/pipeline';
import { runStep, StepOptions } from '../lib/run-step';

function publishOptions(options: PublishOptions): PublishOptions {
  return { registry: options.registry, org: options.org, insecure: options.insecure, index: options.index, pluginRegistry: options.pluginRegistry, pluginOrg: options.pluginOrg };
}

// Each executor only maps its options onto a pipeline step; executors.json points at these exports.
type Executor<T> = (options: StepOptions & T, context: ExecutorContext) => Promise<{ success: boolean }>;

export const fetchExecutor: Executor<object> = (options, context) => runStep(options, context, fetchStep);
export const patchExecutor: Executor<object> = (options, context) => runStep(options, context, patchStep);
export const configureExecutor: Executor<object> = (options, context) => runStep(options, context, configureStep);
export const compileExecutor: Executor<PublishOptions & { jobs?: number; ccache?: boolean; registryCache?: boolean }> = (options, context) =>
  runStep(options, context, (step) => compileStep({ ...step, ...publishOptions(options), jobs: options.jobs, ccache: options.ccache, registryCache: options.registryCache }));
export const packageExecutor: Executor<object> = (options, context) => runStep(options, context, packageStep);
export const testExecutor: Executor<{ timeoutSeconds?: number }> = (options, context) =>
  runStep(options, context, (step) => bootTestStep({ ...step, timeoutSeconds: options.timeoutSeconds }));
// Only olddefconfig under Nx: the interactive editors need the terminal (npm run kconfig -- menuconfig <project>).
export const syncConfigExecutor: Executor<object> = (options, context) => runStep(options, context, (step) => syncConfigStep({ ...step, editor: 'olddefconfig' }));
export const kmodExecutor: Executor<object> = (options, context) => runStep(options, context, moduleBuildStep);
export const kmodTestExecutor: Executor<object> = (options, context) => runStep(options, context, moduleTestStep);
export const lintPatchesExecutor: Executor<object> = (options, context) => runStep(options, context, lintPatchesStep);
export const rebasePatchesExecutor: Executor<{ repo?: string; to?: string; from?: string }> = (options, context) =>
  runStep(options, context, (step) => rebasePatchesStep({ ...step, repo: options.repo, to: options.to, from: options.from }));
export const perfExecutor: Executor<object> = (options, context) => runStep(options, context, perfStep);
export const perfTestExecutor: Executor<object> = (options, context) => runStep(options, context, perfTestStep);
export const pushExecutor: Executor<PublishOptions> = (options, context) => runStep(options, context, (step) => pushStep({ ...step, ...publishOptions(options) }));
export const pushIndexExecutor: Executor<PublishOptions> = (options, context) => runStep(options, context, (step) => pushIndexStep({ ...step, ...publishOptions(options) }));
export const distroExecutor: Executor<object> = (options, context) => runStep(options, context, distroBuildStep);
export const distroTestExecutor: Executor<object> = (options, context) => runStep(options, context, distroTestStep);
export const cleanExecutor = async (options: { dryRun?: boolean }, context: ExecutorContext): Promise<{ success: boolean }> =>
  runStep({}, context, (step) => pruneWorkDir(step.workspaceRoot, { dryRun: options.dryRun, log: step.log }));
