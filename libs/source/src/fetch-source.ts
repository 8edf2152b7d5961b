import { promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { AptTools, systemApt } from './apt';
import { addFileToStore, blobPath, commitToStore, ContentStore, discardTemp, hasBlob, newStoreTempPath } from './content-store';
import { extractFileFromDeb } from './deb-package';
import { downloadBytes, downloadToTemp } from './download';
import { readKeyring, readSignatureForKeyring, verifyTarSignature } from './pgp-signature';
import { normalizeSha256, sha256File } from './sha256';

export type SourceSpec =
  /** `file`: the tarball's path inside the package, e.g. `usr/src/linux-source-6.12.tar.xz`. */
  | { kind: 'apt'; package: string; version: string; file: string; sha256: string }
  /** `signatureUrl` defaults to `url` with the compression suffix replaced by `.sign`. */
  | { kind: 'kernel.org'; url: string; sha256: string; signatureUrl?: string };

export interface FetchSourceOptions {
  store: ContentStore;
  /** Armored public keys of the kernel.org signers. */
  keyringPath: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** The package system; the real dpkg-query and apt-get unless a test supplies its own. */
  apt?: AptTools;
}

export interface FetchedSource {
  tarballPath: string;
  sha256: string;
  /** False when the store already had it (no network, no package system touched). */
  fetched: boolean;
}

/** kernel.org publishes `linux-6.12.1.tar.sign` beside `linux-6.12.1.tar.xz`: one signature for every compression. */
export function defaultSignatureUrl(url: string): string {
  const signatureUrl = url.replace(/\.tar\.(xz|gz|bz2|zst)$/, '.tar.sign');
  if (signatureUrl === url) {
    throw new KernelBuildError(`${url}: cannot derive the signature URL (expected a .tar.xz, .tar.gz, .tar.bz2 or .tar.zst)`, 'set source.signatureUrl in kernel.yaml');
  }
  return signatureUrl;
}

function describeSource(spec: SourceSpec): string {
  return spec.kind === 'apt' ? `${spec.package}=${spec.version}:/${spec.file}` : spec.url;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Logs a download at most every 10% (or every 50 MB when the size is unknown). */
function progressLogger(url: string, log: (line: string) => void): (bytes: number, total?: number) => void {
  let nextReport = 0;
  return (bytes, total) => {
    if (bytes < nextReport) return;
    const step = total ? total / 10 : 50e6;
    nextReport = bytes + step;
    log(`${url}: ${megabytes(bytes)}${total ? ` of ${megabytes(total)}` : ''}`);
  };
}

async function fetchFromKernelOrg(spec: Extract<SourceSpec, { kind: 'kernel.org' }>, options: FetchSourceOptions): Promise<string> {
  const log = options.log ?? (() => undefined);
  const signatureUrl = spec.signatureUrl ?? defaultSignatureUrl(spec.url);
  // Keyring and signature first: both are small, and without them the tarball is of no use.
  await readKeyring(options.keyringPath);
  const signature = await downloadBytes(signatureUrl, { signal: options.signal });
  const names = { tarball: spec.url, signature: signatureUrl };
  await readSignatureForKeyring(signature, options.keyringPath, names);
  log(`downloading ${spec.url}`);
  const temp = await downloadToTemp(options.store, spec.url, spec.sha256, { signal: options.signal, onProgress: progressLogger(spec.url, log) });
  try {
    const signer = await verifyTarSignature(temp, signature, options.keyringPath, names);
    log(`${spec.url}: good signature from ${signer.keyId} (${signer.userIds.join(', ')})`);
    return await commitToStore(options.store, temp, spec.sha256);
  } finally {
    await discardTemp(temp);
  }
}

async function fetchFromApt(spec: Extract<SourceSpec, { kind: 'apt' }>, options: FetchSourceOptions): Promise<string> {
  const log = options.log ?? (() => undefined);
  const apt = options.apt ?? systemApt;
  const installedFile = path.join('/', spec.file);
  const installed = await apt.installedVersion(spec.package);
  const fileThere = (await fs.stat(installedFile).catch(() => undefined))?.isFile() ?? false;
  if (installed === spec.version && fileThere) {
    log(`${spec.package} ${spec.version} is installed: taking ${installedFile}`);
    return addFileToStore(options.store, installedFile, spec.sha256);
  }

  const why = installed === spec.version ? `installed, but ${installedFile} is missing` : installed ? `installed version is ${installed}` : 'not installed';
  log(`${spec.package}: ${why}; apt-get download ${spec.package}=${spec.version}`);
  const workDir = await newStoreTempPath(options.store, 'apt');
  await fs.mkdir(workDir);
  try {
    const deb = await apt.downloadDeb(spec.package, spec.version, workDir, options.signal);
    const extracted = path.join(workDir, 'member');
    await extractFileFromDeb(deb, spec.file, extracted);
    const actual = await sha256File(extracted);
    if (actual !== normalizeSha256(spec.sha256)) {
      throw new KernelBuildError(
        `${path.basename(deb)}:/${spec.file}: sha256 mismatch: expected ${spec.sha256}, got ${actual}`,
        `if ${spec.package} ${spec.version} is what you want, put ${actual} as source.sha256 in kernel.yaml`,
      );
    }
    return await commitToStore(options.store, extracted, spec.sha256);
  } finally {
    await discardTemp(workDir);
  }
}

/**
 * The fetch step: the store path of the verified tarball. A tarball already in the store is
 * returned at once with no network (offline builds). kernel.org: tarball and signature are
 * downloaded, sha256 and PGP checked, and only then kept. apt: the installed package's file when
 * dpkg has exactly that version, else the file out of `apt-get download`; sha256 checked either way.
 */
export async function fetchSource(spec: SourceSpec, options: FetchSourceOptions): Promise<FetchedSource> {
  const sha256 = normalizeSha256(spec.sha256, `source.sha256 of ${describeSource(spec)}`);
  if (await hasBlob(options.store, sha256)) {
    return { tarballPath: blobPath(options.store, sha256), sha256, fetched: false };
  }
  const tarballPath = spec.kind === 'kernel.org' ? await fetchFromKernelOrg(spec, options) : await fetchFromApt(spec, options);
  return { tarballPath, sha256, fetched: true };
}
