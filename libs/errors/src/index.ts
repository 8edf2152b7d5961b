import * as fs from 'fs';

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

/** ENOSPC or EDQUOT: the disk (or the user's quota) is full. Retrying will not help; freeing space will. */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function freeSpaceText(dir: string): string | undefined {
  try {
    const stats = fs.statfsSync(dir);
    return `${Math.floor((stats.bavail * stats.bsize) / (1024 * 1024))} MiB`;
  } catch {
    return undefined;
  }
}

/**
 * The message for a full disk while writing `writing` under `dir`: where, how much is free now,
 * and (when the caller removed its partial output) that nothing half-written was kept.
 */
export function outOfSpaceError(error: unknown, dir: string, writing: string, partialRemoved = true): KernelBuildError {
  const what = (error as NodeJS.ErrnoException).code === 'EDQUOT' ? 'the disk quota ran out' : 'no space left';
  const free = freeSpaceText(dir);
  return new KernelBuildError(
    `${what} on the device holding ${dir} while writing ${writing}${free ? ` (${free} free${partialRemoved ? ' after removing the partial output' : ''})` : ''}`,
    `free space there (df -h ${dir}) or put dist/ and KERNEL_WORK_DIR on a larger disk, then run again${partialRemoved ? ': nothing half-written was kept' : ''}`,
  );
}
