export type { ContentStore } from './content-store';
export { addFileToStore, blobPath, hasBlob, openStore } from './content-store';
export { sha256File } from './sha256';
export type { DownloadOptions } from './download';
export { downloadToStore } from './download';
export type { SignatureNames, TarSigner } from './pgp-signature';
export { readKeyring, verifyTarSignature } from './pgp-signature';
export type { AptTools } from './apt';
export { systemApt } from './apt';
export { extractFileFromDeb } from './deb-package';
export type { FetchedSource, FetchSourceOptions, SourceSpec } from './fetch-source';
export { defaultSignatureUrl, fetchSource } from './fetch-source';
export { assertTarballSafe } from './tar-safety';
export { ensurePristineTree } from './pristine-tree';
export { fetchPatchSet, parseQuiltSeries, patchSetPatches } from './patch-set';
export type { PatchSetPatch, PatchSetSpec } from './patch-set';
export {
  compareKernelVersions,
  findAptBump,
  findKernelOrgBump,
  newerPointRelease,
  parseReleasesJson,
  parseSha256Sums,
  upstreamOfDebianVersion,
  verifySignedSums,
} from './releases';
export type { AptBump, KernelOrgBump, KernelRelease } from './releases';
export { cachedDebPackage } from './deb-cache';
