import { createHash } from 'crypto';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';

/** An OCI content digest, `sha256:<64 hex>`. */
export type Sha256Digest = `sha256:${string}`;

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

export function sha256Digest(bytes: Uint8Array | string): Sha256Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isSha256Digest(value: unknown): value is Sha256Digest {
  return typeof value === 'string' && SHA256_DIGEST.test(value);
}

/**
 * Where a blob lives in an OCI image layout. The digest is checked first: it comes from JSON
 * someone else may have written, and must never become `../../etc/passwd`.
 */
export function blobPath(layoutDir: string, digest: string): string {
  const match = SHA256_DIGEST.exec(digest);
  if (!match) {
    throw new KernelBuildError(
      `'${digest}' in ${layoutDir} is not a sha256 digest`,
      'only sha256:<64 lowercase hex> digests are supported',
    );
  }
  return path.join(layoutDir, 'blobs', 'sha256', match[1]);
}
