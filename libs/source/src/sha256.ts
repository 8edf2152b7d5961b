import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import { KernelBuildError } from '@linuxkit-kernels/errors';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Lower-cases a digest and rejects anything that is not 64 hex digits, naming where it came from. */
export function normalizeSha256(sha256: string, origin = 'sha256'): string {
  const hex = sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(hex)) {
    throw new KernelBuildError(`${origin}: '${sha256}' is not a sha256 digest`, 'write the 64 hex digits printed by `sha256sum <file>`');
  }
  return hex;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
