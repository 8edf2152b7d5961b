import { KernelBuildError } from '@linuxkit-kernels/errors';
import { Sha256Digest, isSha256Digest } from '@linuxkit-kernels/oci';

// The grammar of distribution/reference, which every registry and `docker pull` agree on.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PATTERN = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const REPOSITORY_MAX_LENGTH = 255;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// host[:port], where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
const REGISTRY_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Where a reference without a registry part points, as with `docker pull linuxkit/kernel`. */
export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** host[:port] as written, or docker.io when the reference names none. */
  registry: string;
  /** The repository inside the registry, e.g. `linuxkit/kernel` (Docker Hub's `library/` added for one-part names). */
  repository: string;
  tag?: string;
  digest?: Sha256Digest;
}

const REFERENCE_FIX = 'write it as [registry[:port]/]org/name[:tag][@sha256:<64 hex>], e.g. 127.0.0.1:5001/linuxkit/kernel:6.12.1';

export function isValidRepository(name: string): boolean {
  return name.length <= REPOSITORY_MAX_LENGTH && REPOSITORY_PATTERN.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export function isValidRegistry(registry: string): boolean {
  return REGISTRY_PATTERN.test(registry);
}

/** A tag or a digest: what may follow `/manifests/` in a registry URL. */
export function isValidManifestReference(reference: string): boolean {
  return isValidTag(reference) || isSha256Digest(reference);
}

/** Docker's rule: the first part names a registry only if it looks like a host (a dot, a port, `localhost` or capitals). */
function looksLikeRegistry(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost' || part !== part.toLowerCase();
}

/**
 * Splits `registry[:port]/org/name[:tag][@digest]` into its parts. Only sha256 digests are
 * accepted, since they are the only ones we can verify.
 */
export function parseImageReference(text: string): ImageReference {
  const invalid = (problem: string) => new KernelBuildError(`'${text}' is not an image reference: ${problem}`, REFERENCE_FIX);

  let rest = text.trim();
  let digest: Sha256Digest | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const candidate = rest.slice(at + 1);
    if (!isSha256Digest(candidate)) throw invalid(`'${candidate}' is not a sha256 digest`);
    digest = candidate;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw invalid(`'${tag}' is not a valid tag (1–128 of [A-Za-z0-9_.-], not starting with . or -)`);
  }

  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (slash !== -1 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!isValidRegistry(registry)) throw invalid(`'${registry}' is not a registry host[:port]`);
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepository(repository)) {
    throw invalid(`'${repository}' is not a repository name (lowercase [a-z0-9] parts joined by . _ __ - and /)`);
  }
  return { registry, repository, tag, digest };
}

/** The tag or digest to fetch for a reference: its digest if it pins one, else its tag, else `latest`. */
export function manifestReferenceOf(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

export function formatImageReference(reference: ImageReference): string {
  const tag = reference.tag === undefined ? '' : `:${reference.tag}`;
  const digest = reference.digest === undefined ? '' : `@${reference.digest}`;
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

/** Throws a KernelBuildError unless `repository` can go into a registry URL as a repository name. */
export function checkRepository(repository: string): void {
  if (!isValidRepository(repository)) {
    throw new KernelBuildError(
      `'${repository}' is not a valid repository name`,
      'use lowercase parts of [a-z0-9] joined by . _ __ - and separated by /, e.g. linuxkit/kernel',
    );
  }
}

export function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new KernelBuildError(`'${tag}' is not a valid image tag`, 'a tag is 1–128 of [A-Za-z0-9_.-] and does not start with . or -');
  }
}

export function checkManifestReference(reference: string): void {
  if (!isValidManifestReference(reference)) {
    throw new KernelBuildError(`'${reference}' is neither an image tag nor a sha256 digest`, 'pass a tag such as 6.12.1 or sha256:<64 hex>');
  }
}
