import { KernelBuildError } from '@linuxkit-kernels/errors';

/** The KernelBuildError an action throws, so a spec can assert on its message and fix. */
export function thrownKernelBuildError(action: () => unknown): KernelBuildError {
  try {
    action();
  } catch (error) {
    if (error instanceof KernelBuildError) return error;
    throw error;
  }
  throw new Error('expected a KernelBuildError, but nothing was thrown');
}
