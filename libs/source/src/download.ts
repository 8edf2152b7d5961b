import { setTimeout as sleep } from 'timers/promises';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { commitToStore, ContentStore, writeVerifiedTemp } from './content-store';

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (bytes: number, total?: number) => void;
  /** Extra attempts after a connection error or a 5xx; 3 unless set. */
  retries?: number;
}

const DEFAULT_RETRIES = 3;

/** Waits 250 ms, 500 ms, 1 s … before retry number `attempt + 1`, never more than 4 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 4000);
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    statusText: string,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ''}`);
  }
}

const CONNECTION_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  const withCode = error as { code?: string; cause?: { code?: string } };
  return withCode?.code ?? withCode?.cause?.code;
}

/** Connection trouble and server errors may pass; a 4xx, a wrong digest or a full disk will not. */
function isRetryable(error: unknown): boolean {
  if (error instanceof KernelBuildError) return false;
  if (error instanceof HttpStatusError) return error.status >= 500;
  // Node's fetch reports network failures (refused, reset, body cut short) as TypeError; compare by
  // name because jest runs tests in another realm.
  if ((error as Error)?.name === 'TypeError') return true;
  return CONNECTION_ERROR_CODES.has(errorCode(error) ?? '');
}

function failureReason(error: unknown): string {
  const cause = (error as { cause?: { message?: string } })?.cause;
  const message = (error as Error)?.message ?? String(error);
  return cause?.message ? `${message} (${cause.message})` : message;
}

function describeDownloadFailure(url: string, error: unknown, attempts: number): KernelBuildError {
  if (error instanceof KernelBuildError) return error;
  if (error instanceof HttpStatusError) {
    const fix = error.status === 404 || error.status === 410
      ? 'check the URL in kernel.yaml (source.url / source.signatureUrl) and that the mirror has this release'
      : error.status >= 500
        ? 'the server failed; try again later or point kernel.yaml at a mirror'
        : 'check the URL in kernel.yaml and that the server allows anonymous downloads';
    return new KernelBuildError(`GET ${url}: ${error.message}${attempts > 1 ? ` after ${attempts} attempts` : ''}`, fix);
  }
  return new KernelBuildError(
    `GET ${url} failed after ${attempts} attempt(s): ${failureReason(error)}`,
    'check the network connection and the mirror, then run the build again (nothing partial was kept)',
  );
}

async function withRetries<T>(url: string, options: DownloadOptions, attempt: () => Promise<T>): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted) {
        throw new KernelBuildError(`GET ${url}: aborted`, 'run the build again when ready; nothing partial was kept');
      }
      if (!isRetryable(error) || attempts > retries) throw describeDownloadFailure(url, error, attempts);
      await sleep(retryDelayMs(attempts - 1), undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
}

async function requestOk(url: string, signal: AbortSignal | undefined): Promise<Response> {
  // identity: a server adding Content-Encoding would otherwise hand us other bytes than the digest covers.
  const response = await fetch(url, { signal, headers: { 'accept-encoding': 'identity' } });
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new HttpStatusError(response.status, response.statusText);
  }
  return response;
}

async function* bodyChunks(response: Response): AsyncIterable<Uint8Array> {
  if (!response.body) return;
  yield* response.body as unknown as AsyncIterable<Uint8Array>;
}

/** Downloads into a verified temp file of the store (not yet a blob), for callers with more checks to make. */
export async function downloadToTemp(store: ContentStore, url: string, sha256: string, options: DownloadOptions = {}): Promise<string> {
  return withRetries(url, options, async () => {
    const response = await requestOk(url, options.signal);
    const total = Number(response.headers.get('content-length')) || undefined;
    return writeVerifiedTemp(store, bodyChunks(response), sha256, {
      culprit: url,
      mismatchFix: 'if upstream really changed the file, verify it and update sha256 in kernel.yaml; otherwise the mirror served a corrupt file',
      onBytes: (bytes) => options.onProgress?.(bytes, total),
    });
  });
}

/**
 * HTTP(S) GET into the store, streaming to a temp file, verifying sha256, atomic rename. A cut
 * connection, non-2xx or mismatch throws naming the URL and leaves no partial file.
 */
export async function downloadToStore(store: ContentStore, url: string, sha256: string, options: DownloadOptions = {}): Promise<string> {
  const temp = await downloadToTemp(store, url, sha256, options);
  return commitToStore(store, temp, sha256);
}

/** A small file (a signature) into memory, with the same retries; refuses bodies over `maxBytes`. */
export async function downloadBytes(url: string, options: DownloadOptions & { maxBytes?: number } = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  return withRetries(url, options, async () => {
    const response = await requestOk(url, options.signal);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of bodyChunks(response)) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new KernelBuildError(`GET ${url}: larger than ${maxBytes} bytes`, 'check that the URL names a signature file, not the tarball');
      }
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  });
}
