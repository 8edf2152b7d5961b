/**
 * The one error type every lib throws for bad input or a failed step. The message names the
 * culprit (file, option, patch, URL …); `fix` says what to do next. The Nx executors print
 * both and exit non-zero, so a user never sees a bare stack trace for an expected failure.
 */
export class KernelBuildError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The text shown to a user: the message, the details (diff, log tail …) and the fix. */
  describe(): string {
    return [this.message, this.details, this.fix ? `fix: ${this.fix}` : undefined]
      .filter((part): part is string => Boolean(part))
      .join('\n');
  }
}

export function isKernelBuildError(error: unknown): error is KernelBuildError {
  return error instanceof KernelBuildError;
}
