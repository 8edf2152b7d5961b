import { promises as fs } from 'fs';
import { Readable } from 'stream';
import { ReadableStream } from 'stream/web';
import * as openpgp from 'openpgp';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { openTarByteStream } from './compression';

export interface TarSigner {
  /** 16 hex digits, as `gpg --keyid-format long` prints it. */
  keyId: string;
  fingerprint: string;
  userIds: string[];
}

const ARMORED_KEY_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;
const KEYRING_FIX = 'the keyring must hold the signers\' public keys, armored (`gpg --export --armor <fingerprint>…`) or binary';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads every public key in a file: concatenated armored blocks (as `gpg --export --armor` writes) or a binary keyring. */
export async function readKeyring(keyringPath: string): Promise<openpgp.PublicKey[]> {
  const bytes = await fs.readFile(keyringPath).catch(() => {
    throw new KernelBuildError(`keyring ${keyringPath} not found`, KEYRING_FIX);
  });
  let keys: openpgp.Key[];
  try {
    const blocks = bytes.toString('utf8').match(ARMORED_KEY_BLOCK);
    keys = blocks
      ? (await Promise.all(blocks.map((armoredKeys) => openpgp.readKeys({ armoredKeys })))).flat()
      : await openpgp.readKeys({ binaryKeys: new Uint8Array(bytes) });
  } catch (error) {
    throw new KernelBuildError(`keyring ${keyringPath}: cannot read its keys (${messageOf(error)})`, KEYRING_FIX);
  }
  if (keys.length === 0) throw new KernelBuildError(`keyring ${keyringPath} holds no keys`, KEYRING_FIX);
  return keys.map((key) => key.toPublic());
}

function armoredText(signature: string | Uint8Array): string | undefined {
  if (typeof signature === 'string') return signature;
  const text = Buffer.from(signature.subarray(0, 64)).toString('utf8');
  return text.trimStart().startsWith('-----BEGIN PGP') ? Buffer.from(signature).toString('utf8') : undefined;
}

async function readDetachedSignature(signature: string | Uint8Array, signatureName: string): Promise<openpgp.Signature> {
  try {
    const armoredSignature = armoredText(signature);
    return armoredSignature !== undefined
      ? await openpgp.readSignature({ armoredSignature })
      : await openpgp.readSignature({ binarySignature: signature as Uint8Array });
  } catch (error) {
    throw new KernelBuildError(`${signatureName}: not a PGP signature (${messageOf(error)})`, 'check signatureUrl in kernel.yaml; it must name the .tar.sign file of the release');
  }
}

async function drain(stream: { getReader(): { read(): Promise<{ done: boolean }> } }): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

/** Any one good signature will do (a release has one); throws with every failure otherwise. */
async function firstGoodSigner(signatures: openpgp.VerifyMessageResult['signatures'], keys: openpgp.PublicKey[]): Promise<TarSigner> {
  const failures: string[] = [];
  for (const candidate of signatures) {
    try {
      await candidate.verified;
      const key = keys.find((known) => known.getKeys(candidate.keyID).length > 0)!;
      return { keyId: candidate.keyID.toHex(), fingerprint: key.getFingerprint(), userIds: key.getUserIDs() };
    } catch (error) {
      failures.push(`${candidate.keyID.toHex()}: ${messageOf(error)}`);
    }
  }
  throw new Error(failures.join('; ') || 'no signature');
}

export interface SignatureNames {
  /** How messages name the tarball and the signature: what the user knows (URLs), not temp paths. */
  tarball?: string;
  signature?: string;
}

/**
 * Reads keyring and signature and checks that the signature names a key of the keyring, so a
 * caller can refuse before downloading the tarball at all.
 */
export async function readSignatureForKeyring(
  signature: string | Uint8Array,
  keyringPath: string,
  names: SignatureNames & { tarball: string },
): Promise<{ keys: openpgp.PublicKey[]; signature: openpgp.Signature }> {
  const signatureName = names.signature ?? `the signature of ${names.tarball}`;
  const keys = await readKeyring(keyringPath);
  const parsed = await readDetachedSignature(signature, signatureName);
  const signerIds = parsed.getSigningKeyIDs();
  if (!signerIds.some((id) => keys.some((key) => key.getKeys(id).length > 0))) {
    throw new KernelBuildError(
      `${names.tarball}: ${signatureName} was made by key ${signerIds.map((id) => id.toHex()).join(', ') || '(none named)'}, which is not in keyring ${keyringPath}`,
      'if kernel.org signs this release with a new key, add it to the keyring after checking it (https://www.kernel.org/signature.html); otherwise the download is not genuine',
    );
  }
  return { keys, signature: parsed };
}

/**
 * kernel.org's `.tar.sign` is a detached signature over the uncompressed tar: decompress while
 * streaming (a 1.4 GB tar is never held in memory) and verify against the public keys in
 * `keyringPath`. A bad or unreadable signature or an unknown key throws naming the tarball, the
 * signature and the keyring.
 */
export async function verifyTarSignature(
  tarballPath: string,
  signature: string | Uint8Array,
  keyringPath: string,
  names: SignatureNames = {},
): Promise<TarSigner> {
  const tarballName = names.tarball ?? tarballPath;
  const signatureName = names.signature ?? `the signature of ${tarballName}`;
  const { keys, signature: parsed } = await readSignatureForKeyring(signature, keyringPath, { tarball: tarballName, signature: signatureName });

  const source = await openTarByteStream(tarballPath);
  try {
    const message = await openpgp.createMessage({ binary: Readable.toWeb(source.tar) as ReadableStream<Uint8Array> });
    const result = await openpgp.verify({ message, signature: parsed, verificationKeys: keys, format: 'binary' });
    // openpgp hashes the data as it is read; the verdicts settle only after the last byte.
    await drain(result.data);
    await source.finished;
    return await firstGoodSigner(result.signatures, keys);
  } catch (error) {
    if (error instanceof KernelBuildError) throw error;
    throw new KernelBuildError(
      `${tarballName}: PGP signature check failed (${signatureName}, keyring ${keyringPath}): ${messageOf(error)}`,
      'the tarball or its signature is corrupt or not genuine; fetch both again, from kernel.org or another mirror',
    );
  } finally {
    source.stop();
  }
}
