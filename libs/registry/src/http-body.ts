import { KernelBuildError } from '@linuxkit-kernels/errors';
import { TransientRegistryFailure } from './retry-policy';

// Error bodies are only quoted in messages; more than this is a proxy's HTML page or worse.
const ERROR_BODY_MAX_BYTES = 64 * 1024;

// Certificate problems do not go away by retrying; they need the user's attention at once.
const TLS_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function causeOf(error: unknown): { code?: string; message?: string } {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause ?? (error as { code?: string; message?: string });
}

/** One fetch; a failure to connect or a dropped connection becomes a TransientRegistryFailure naming `peer`. */
export async function fetchOrFail(fetchImpl: typeof fetch, url: URL, init: RequestInit, peer: string): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    const cause = causeOf(error);
    if (cause.code && TLS_ERROR_CODES.has(cause.code)) {
      throw new KernelBuildError(
        `TLS to ${peer} (${url.host}) failed: ${cause.code}`,
        `the registry's certificate is not trusted here: give its CA to Node with NODE_EXTRA_CA_CERTS=<ca.pem>`,
      );
    }
    if (cause.code === 'ENOTFOUND') {
      throw new KernelBuildError(`the host of ${peer} (${url.hostname}) does not resolve`, 'check the registry name and this machine\'s DNS');
    }
    throw new TransientRegistryFailure(`connection to ${peer} failed: ${[cause.code, cause.message].filter(Boolean).join(' ') || String(error)}`);
  }
}

/** Reads at most `maxBytes` of a body; the rest is discarded. For error messages, never for content. */
export async function readBodyText(response: Response, maxBytes = ERROR_BODY_MAX_BYTES): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      chunks.push(Buffer.from(chunk));
      length += chunk.length;
      if (length >= maxBytes) break;
    }
  } catch {
    // A body that breaks off is still worth quoting as far as it came.
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** Frees the connection of a response whose body we do not need. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * The whole body, refusing more than `maxBytes` (a manifest over the registries' 4 MiB limit is
 * not a manifest). A connection dropped mid-body is a TransientRegistryFailure.
 */
export async function readBodyBytes(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await discardBody(response);
    throw new KernelBuildError(`${what} is ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body ?? []) {
      length += chunk.length;
      if (length > maxBytes) break;
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    throw new TransientRegistryFailure(`the download of ${what} broke off: ${causeOf(error).message ?? String(error)}`);
  }
  if (length > maxBytes) {
    await discardBody(response);
    throw new KernelBuildError(`${what} is more than the ${maxBytes} bytes allowed`);
  }
  return Buffer.concat(chunks);
}
