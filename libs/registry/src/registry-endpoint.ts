import { KernelBuildError } from '@linuxkit-kernels/errors';
import { DOCKER_HUB, isValidRegistry } from './image-reference';

const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_API_ORIGIN = 'https://registry-1.docker.io';

export interface RegistryEndpoint {
  /** The registry as users name it (`127.0.0.1:5001`, `docker.io`): used in messages and for `docker login`. */
  registry: string;
  /** Where the API lives, e.g. `https://registry-1.docker.io` or `http://127.0.0.1:5001`. */
  origin: string;
}

/** 127.0.0.0/8, localhost and ::1: traffic that never leaves the machine, so plain http exposes nothing. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255);
}

function hostnameOf(hostAndPort: string): string {
  return hostAndPort.startsWith('[') ? hostAndPort.slice(0, hostAndPort.indexOf(']') + 1) : hostAndPort.replace(/:\d+$/, '');
}

/**
 * Decides the scheme for a registry. https with verified TLS is the default; plain http only for
 * loopback hosts or when the caller says `insecure`, because credentials and tokens would
 * otherwise cross the network in clear. A registry written as `http://host` is refused on those
 * same terms rather than silently upgraded, so the user learns why.
 */
export function resolveRegistryEndpoint(registryText: string, options: { insecure?: boolean } = {}): RegistryEndpoint {
  const schemeMatch = /^(https?):\/\//i.exec(registryText);
  const askedScheme = schemeMatch?.[1].toLowerCase();
  const registry = registryText.slice(schemeMatch?.[0].length ?? 0).replace(/\/+$/, '');
  if (!isValidRegistry(registry)) {
    throw new KernelBuildError(
      `'${registryText}' is not a registry address`,
      'give the registry as host[:port], e.g. ghcr.io or 127.0.0.1:5001',
    );
  }
  if (isDockerHub(registry)) {
    if (askedScheme === 'http') throw new KernelBuildError(`Docker Hub (${registry}) is only served over https`, `use ${DOCKER_HUB}`);
    return { registry: DOCKER_HUB, origin: DOCKER_HUB_API_ORIGIN };
  }
  const plainHttpAllowed = options.insecure === true || isLoopbackHost(hostnameOf(registry));
  if (askedScheme === 'http' && !plainHttpAllowed) {
    throw new KernelBuildError(
      `refusing plain http to registry ${registry}: it is not a loopback address, so credentials and images would cross the network unencrypted`,
      `serve the registry over https, or pass insecure: true if ${registry} is on a network you trust`,
    );
  }
  const scheme = askedScheme ?? (plainHttpAllowed ? 'http' : 'https');
  return { registry, origin: `${scheme}://${registry.toLowerCase()}` };
}

/** The same policy for URLs a registry hands us (token realms): no credentials over plain http to a remote host. */
export function checkUrlMayCarryCredentials(url: URL, endpoint: RegistryEndpoint, insecure: boolean | undefined): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (insecure === true || isLoopbackHost(url.hostname))) return;
  throw new KernelBuildError(
    `registry ${endpoint.registry} sends us to ${url.origin} for a token over ${url.protocol.replace(':', '')}; refusing to send credentials there`,
    `the registry's token service must use https; pass insecure: true only if ${url.host} is on a network you trust`,
  );
}

export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.toLowerCase());
}
