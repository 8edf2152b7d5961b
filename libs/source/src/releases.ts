import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import * as openpgp from 'openpgp';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { readKeyring } from './pgp-signature';
import { extractFileFromDeb } from './deb-package';
import { sha256File } from './sha256';

/** One line of kernel.org's releases.json (only the fields we read). */
export interface KernelRelease {
  version: string;
  moniker: string;
  source: string | null;
  iseol?: boolean;
}

export function parseReleasesJson(text: string, url: string): KernelRelease[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KernelBuildError(`${url} is not JSON`, 'point --releasesUrl at kernel.org\'s releases.json');
  }
  const releases = (parsed as { releases?: unknown }).releases;
  if (!Array.isArray(releases)) throw new KernelBuildError(`${url} has no "releases" list`, 'point --releasesUrl at kernel.org\'s releases.json');
  return releases.filter((entry): entry is KernelRelease => typeof entry?.version === 'string');
}

function versionParts(version: string): number[] {
  return version.split(/[.-]/).map((part) => Number.parseInt(part, 10)).filter((part) => Number.isFinite(part));
}

export function compareKernelVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let index = 0; index < Math.max(x.length, y.length); index++) {
    const difference = (x[index] ?? 0) - (y[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The newest point release of the same major.minor line, if it is newer than `current`. */
export function newerPointRelease(releases: readonly KernelRelease[], current: string): KernelRelease | undefined {
  const line = current.split('.').slice(0, 2).join('.');
  const candidates = releases.filter((release) => release.source && (release.version === line || release.version.startsWith(`${line}.`)) && !/-rc/.test(release.version));
  const newest = candidates.sort((a, b) => compareKernelVersions(b.version, a.version))[0];
  return newest && compareKernelVersions(newest.version, current) > 0 ? newest : undefined;
}

/** `<sha256>  <file>` lines of sha256sums.asc's signed text. */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (match) sums.set(match[2], match[1]);
  }
  return sums;
}

/** Verifies kernel.org's clearsigned sha256sums.asc against the keyring and returns the signed text. */
export async function verifySignedSums(armored: string, keyringPath: string, url: string): Promise<string> {
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: armored });
  } catch (error) {
    throw new KernelBuildError(`${url} is not a clearsigned message`, 'check the URL', error instanceof Error ? error.message : String(error));
  }
  const keys = await readKeyring(keyringPath);
  const result = await openpgp.verify({ message, verificationKeys: keys });
  try {
    await result.signatures[0]?.verified;
    if (!result.signatures[0]) throw new Error('no signature');
  } catch (error) {
    throw new KernelBuildError(`${url}: signature does not verify against ${keyringPath}`, 'do not trust these checksums; check the mirror and the keyring', error instanceof Error ? error.message : String(error));
  }
  return result.data as string;
}

export interface KernelOrgBump {
  version: string;
  url: string;
  sha256: string;
}

/** For a kernel.org series: the newest point release of its line with its sha256 from the signed sums, or undefined. */
export async function findKernelOrgBump(options: { releasesUrl: string; current: string; keyringPath: string; fetchImpl?: typeof fetch }): Promise<KernelOrgBump | undefined> {
  const get = async (url: string) => {
    const response = await (options.fetchImpl ?? fetch)(url);
    if (!response.ok) throw new KernelBuildError(`GET ${url} answered ${response.status}`, 'check the URL and the network');
    return response.text();
  };
  const release = newerPointRelease(parseReleasesJson(await get(options.releasesUrl), options.releasesUrl), options.current);
  if (!release?.source) return undefined;
  const sumsUrl = new URL('sha256sums.asc', release.source).toString();
  const sums = parseSha256Sums(await verifySignedSums(await get(sumsUrl), options.keyringPath, sumsUrl));
  const fileName = path.posix.basename(new URL(release.source).pathname);
  const sha256 = sums.get(fileName);
  if (!sha256) throw new KernelBuildError(`${sumsUrl} lists no ${fileName}`, 'try again later: the mirror may be updating');
  return { version: release.version, url: release.source, sha256 };
}

export interface AptBump {
  /** Upstream version (6.12.119) and the package's (6.12.119-1~deb12u1). */
  version: string;
  packageVersion: string;
  sha256: string;
}

/** Debian's upstream part of a package version: 6.12.118-1~deb12u1 -> 6.12.118. */
export function upstreamOfDebianVersion(packageVersion: string): string {
  return packageVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '').replace(/[+~].*$/, '');
}

/** For an apt series: the candidate apt offers, with the sha256 of the tarball inside its .deb, or undefined. */
export async function findAptBump(options: { package: string; currentPackageVersion: string; file: string }): Promise<AptBump | undefined> {
  const policy = await execa('apt-cache', ['policy', options.package], { reject: false });
  const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
  if (!candidate || candidate === '(none)') throw new KernelBuildError(`apt has no candidate for ${options.package}`, 'run apt-get update');
  if (candidate === options.currentPackageVersion) return undefined;
  const compare = await execa('dpkg', ['--compare-versions', candidate, 'gt', options.currentPackageVersion], { reject: false });
  if (compare.exitCode !== 0) return undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'apt-bump-'));
  try {
    await execa('apt-get', ['download', `${options.package}=${candidate}`], { cwd: scratch });
    const deb = fs.readdirSync(scratch).find((name) => name.endsWith('.deb'));
    if (!deb) throw new KernelBuildError(`apt-get download ${options.package}=${candidate} left no .deb`, 'run apt-get update');
    const tarball = path.join(scratch, 'tarball');
    await extractFileFromDeb(path.join(scratch, deb), options.file, tarball);
    return { version: upstreamOfDebianVersion(candidate), packageVersion: candidate, sha256: await sha256File(tarball) };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
