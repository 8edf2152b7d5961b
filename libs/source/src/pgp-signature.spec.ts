import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { readKeyring, verifyTarSignature } from './pgp-signature';
import { generateSigner, signDetached, TestSigner, writeKeyring } from './__fixtures__/pgp-fixtures';
import { compressFile, tarDirectory, writeSourceTree } from './__fixtures__/tar-fixtures';
import { useTempDirs } from './__fixtures__/temp-dirs';

jest.setTimeout(20_000);

describe('verifyTarSignature', () => {
  const temp = useTempDirs();
  let dir: string;
  let signer: TestSigner;
  let stranger: TestSigner;
  let tar: string;
  let tarBytes: Buffer;
  let keyring: string;

  beforeEach(async () => {
    dir = await temp.make();
    [signer, stranger] = await Promise.all([generateSigner('Kernel Release Signer'), generateSigner('Somebody Else')]);
    await writeSourceTree(dir, 'linux-6.12.1');
    tar = await tarDirectory(dir, 'linux-6.12.1', 'linux-6.12.1');
    tarBytes = await fs.readFile(tar);
    keyring = await writeKeyring(path.join(dir, 'keyring.asc'), signer);
  });

  it.each(['xz', 'gzip', 'zstd'] as const)('checks a signature over the uncompressed tar of a %s tarball', async (compression) => {
    const tarball = await compressFile(tar, compression);
    const signature = await signDetached(tarBytes, signer);

    const verdict = await verifyTarSignature(tarball, signature, keyring);
    expect(verdict.keyId).toBe(signer.keyId);
    expect(verdict.userIds).toEqual(['Kernel Release Signer <kernel.release.signer@example.org>']);
    expect(verdict.fingerprint).toMatch(/^[0-9a-f]{40}$/);
  });

  it('checks an uncompressed tar, and binary as well as armored signatures', async () => {
    const binary = await signDetached(tarBytes, signer, 'binary');
    await expect(verifyTarSignature(tar, binary, keyring)).resolves.toMatchObject({ keyId: signer.keyId });
    const armoredAsBytes = Buffer.from((await signDetached(tarBytes, signer)) as string);
    await expect(verifyTarSignature(tar, armoredAsBytes, keyring)).resolves.toMatchObject({ keyId: signer.keyId });
  });

  it('refuses a signature by a key that is not in the keyring, naming tarball, signature, keyring and key', async () => {
    const tarball = await compressFile(tar, 'xz');
    const signature = await signDetached(tarBytes, stranger);
    const failure = verifyTarSignature(tarball, signature, keyring, { tarball: 'https://mirror/linux-6.12.1.tar.xz', signature: 'https://mirror/linux-6.12.1.tar.sign' });
    await expect(failure).rejects.toThrow(KernelBuildError);
    await expect(failure).rejects.toThrow(
      `https://mirror/linux-6.12.1.tar.xz: https://mirror/linux-6.12.1.tar.sign was made by key ${stranger.keyId}, which is not in keyring ${keyring}`,
    );
  });

  it('finds the signer in a keyring of several armored blocks', async () => {
    const both = await writeKeyring(path.join(dir, 'both.asc'), stranger, signer);
    expect(await readKeyring(both)).toHaveLength(2);
    await expect(verifyTarSignature(tar, await signDetached(tarBytes, signer), both)).resolves.toMatchObject({ keyId: signer.keyId });
  });

  it('refuses a tarball whose tar differs from what was signed', async () => {
    const signature = await signDetached(Buffer.concat([tarBytes, Buffer.alloc(512)]), signer);
    await expect(verifyTarSignature(await compressFile(tar, 'xz'), signature, keyring)).rejects.toThrow(/linux-6\.12\.1\.tar\.xz: PGP signature check failed .*keyring .*keyring\.asc/);
  });

  it('refuses a signature made over the compressed file instead of the tar', async () => {
    const tarball = await compressFile(tar, 'xz');
    const signature = await signDetached(await fs.readFile(tarball), signer);
    await expect(verifyTarSignature(tarball, signature, keyring)).rejects.toThrow(/PGP signature check failed/);
  });

  it('refuses a corrupted signature', async () => {
    const signature = (await signDetached(tarBytes, signer, 'binary')) as Uint8Array;
    const corrupted = Uint8Array.from(signature);
    corrupted[corrupted.length - 10] ^= 0xff;
    await expect(verifyTarSignature(tar, corrupted, keyring)).rejects.toThrow(/PGP signature check failed .*Signature verification failed/);
    await expect(verifyTarSignature(tar, 'not a signature at all', keyring)).rejects.toThrow(/not a PGP signature/);
  });

  it('names a missing or empty keyring', async () => {
    const signature = await signDetached(tarBytes, signer);
    await expect(verifyTarSignature(tar, signature, path.join(dir, 'absent.asc'))).rejects.toThrow(`keyring ${path.join(dir, 'absent.asc')} not found`);
    await fs.writeFile(path.join(dir, 'empty.asc'), '');
    await expect(verifyTarSignature(tar, signature, path.join(dir, 'empty.asc'))).rejects.toThrow(/keyring .*empty\.asc/);
  });

  it('names a tarball that does not decompress', async () => {
    const tarball = await compressFile(tar, 'xz');
    const bytes = await fs.readFile(tarball);
    await fs.writeFile(tarball, bytes.subarray(0, bytes.length - 40));
    await expect(verifyTarSignature(tarball, await signDetached(tarBytes, signer), keyring)).rejects.toThrow(/linux-6\.12\.1\.tar\.xz: xz could not decompress it/);
  });
});
