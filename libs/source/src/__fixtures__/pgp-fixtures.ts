import { promises as fs } from 'fs';
import * as openpgp from 'openpgp';

export interface TestSigner {
  privateKey: openpgp.PrivateKey;
  armoredPublicKey: string;
  keyId: string;
}

/** A curve25519 key: generated in milliseconds, unlike RSA. */
export async function generateSigner(name: string): Promise<TestSigner> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.org` }],
    format: 'object',
  });
  return { privateKey, armoredPublicKey: publicKey.armor(), keyId: publicKey.getKeyID().toHex() };
}

/** A detached signature as kernel.org's .tar.sign: armored, over exactly these bytes. */
export async function signDetached(bytes: Uint8Array, signer: TestSigner, format: 'armored' | 'binary' = 'armored'): Promise<string | Uint8Array> {
  const message = await openpgp.createMessage({ binary: bytes });
  return format === 'armored'
    ? openpgp.sign({ message, signingKeys: signer.privateKey, detached: true, format: 'armored' })
    : openpgp.sign({ message, signingKeys: signer.privateKey, detached: true, format: 'binary' });
}

export async function writeKeyring(file: string, ...signers: TestSigner[]): Promise<string> {
  await fs.writeFile(file, signers.map((signer) => signer.armoredPublicKey).join('\n'));
  return file;
}
