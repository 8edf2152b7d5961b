import { KernelBuildError } from '@linuxkit-kernels/errors';
import { RegistryCredentials, loadDockerConfigCredentials } from './docker-config';
import { describeRegistryResponse } from './registry-error-body';
import { RegistryEndpoint, checkUrlMayCarryCredentials } from './registry-endpoint';
import { readBodyText, fetchOrFail } from './http-body';
import { TransientRegistryFailure } from './retry-policy';
import { pickSupportedChallenge, parseWwwAuthenticate } from './www-authenticate';

export type RegistryAccess = 'pull' | 'push';

/** What a request needs: the repository, whether it reads or writes, and other repositories it reads (a mount source). */
export interface AccessNeed {
  repository: string;
  access: RegistryAccess;
  alsoPulls?: string[];
}

export type CredentialsOption = RegistryCredentials | 'docker-config' | undefined;

/** The token scopes of the distribution auth spec, e.g. `repository:org/name:pull,push`. */
export function tokenScopesFor(need: AccessNeed): string[] {
  const own = `repository:${need.repository}:${need.access === 'push' ? 'pull,push' : 'pull'}`;
  return [own, ...(need.alsoPulls ?? []).map((repository) => `repository:${repository}:pull`)];
}

// Tokens are renewed this long before the registry says they expire, so one is never sent stale.
const TOKEN_EXPIRY_MARGIN_MS = 10_000;
// The token spec's default lifetime when the token service does not say.
const DEFAULT_TOKEN_LIFETIME_S = 60;

type KnownScheme = { kind: 'basic' } | { kind: 'bearer'; realm: URL; service: string | undefined };

interface CachedToken {
  authorization: string;
  expiresAt: number;
}

export interface RegistryAuthenticatorSettings {
  endpoint: RegistryEndpoint;
  credentials: CredentialsOption;
  dockerConfigPath: string;
  insecure: boolean | undefined;
  fetchImpl: typeof fetch;
  userAgent: string;
}

function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/**
 * Answers registry auth challenges (Basic, and the Bearer token flow of the distribution auth
 * spec) and remembers what it learned, so later requests carry the right Authorization header
 * up front: the scheme for the registry, and one token per set of scopes until it expires.
 * Every secret it sees is collected in `secrets` for redaction.
 */
export class RegistryAuthenticator {
  readonly secrets = new Set<string>();
  private scheme: KnownScheme | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private credentials: Promise<RegistryCredentials | undefined> | undefined;

  constructor(private readonly settings: RegistryAuthenticatorSettings) {
    if (settings.credentials && settings.credentials !== 'docker-config') this.rememberSecrets(settings.credentials);
  }

  private rememberSecrets(credentials: RegistryCredentials): void {
    this.secrets.add(credentials.password);
    this.secrets.add(basicAuthorization(credentials).slice('Basic '.length));
  }

  private get registry(): string {
    return this.settings.endpoint.registry;
  }

  private loadCredentials(): Promise<RegistryCredentials | undefined> {
    this.credentials ??= (async () => {
      const { credentials, dockerConfigPath } = this.settings;
      const loaded = credentials === 'docker-config' ? await loadDockerConfigCredentials(this.registry, dockerConfigPath) : credentials;
      if (loaded) this.rememberSecrets(loaded);
      return loaded;
    })();
    return this.credentials;
  }

  /** The Authorization header for a request, from what earlier challenges taught us; undefined before any. */
  async authorizationFor(need: AccessNeed): Promise<string | undefined> {
    const scheme = this.scheme;
    if (scheme?.kind === 'basic') {
      const credentials = await this.loadCredentials();
      return credentials && basicAuthorization(credentials);
    }
    if (scheme?.kind === 'bearer') {
      const cached = this.tokens.get(tokenScopesFor(need).join(' '));
      if (cached && cached.expiresAt > Date.now()) return cached.authorization;
      return this.fetchToken(scheme, tokenScopesFor(need), need);
    }
    return undefined;
  }

  /** The Authorization header to retry a request with after it got 401 with this `WWW-Authenticate`. */
  async answerChallenge(header: string | null, need: AccessNeed): Promise<string> {
    const challenge = pickSupportedChallenge(parseWwwAuthenticate(header ?? ''));
    if (!challenge) {
      throw new KernelBuildError(
        `registry ${this.registry} wants authentication to ${need.access} ${need.repository} ` +
          `with a scheme this client does not speak (${header ?? 'no WWW-Authenticate header'})`,
        'use a registry that offers Basic or Bearer token authentication',
      );
    }
    if (challenge.scheme === 'basic') {
      const credentials = await this.loadCredentials();
      if (!credentials) throw this.missingCredentials(need);
      this.scheme = { kind: 'basic' };
      return basicAuthorization(credentials);
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new KernelBuildError(`registry ${this.registry} names a token service '${challenge.params.realm}' that is not a URL`);
    }
    checkUrlMayCarryCredentials(realm, this.settings.endpoint, this.settings.insecure);
    const scheme: KnownScheme = { kind: 'bearer', realm, service: challenge.params.service };
    this.scheme = scheme;
    // The challenge's scope is what the registry checks; ours adds what the next requests need.
    const challengeScopes = (challenge.params.scope ?? '').split(' ').filter(Boolean);
    return this.fetchToken(scheme, [...new Set([...tokenScopesFor(need), ...challengeScopes])], need);
  }

  private async fetchToken(scheme: Extract<KnownScheme, { kind: 'bearer' }>, scopes: string[], need: AccessNeed): Promise<string> {
    const url = new URL(scheme.realm);
    if (scheme.service) url.searchParams.set('service', scheme.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const credentials = await this.loadCredentials();
    const headers: Record<string, string> = { 'user-agent': this.settings.userAgent };
    if (credentials) headers.authorization = basicAuthorization(credentials);

    const response = await fetchOrFail(this.settings.fetchImpl, url, { method: 'GET', headers }, `the token service of ${this.registry}`);
    const body = await readBodyText(response);
    const said = describeRegistryResponse(response.status, response.statusText, body);
    if (response.status === 401 || response.status === 403) {
      throw credentials ? this.rejectedCredentials(need, said) : this.missingCredentials(need);
    }
    if (response.status >= 500) throw new TransientRegistryFailure(`the token service of ${this.registry} answered ${said}`);
    let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      answer = JSON.parse(body) as typeof answer;
    } catch {
      answer = {};
    }
    const token = typeof answer.token === 'string' && answer.token ? answer.token : answer.access_token;
    if (response.status !== 200 || typeof token !== 'string' || token === '') {
      throw new KernelBuildError(
        `the token service of registry ${this.registry} (${url.origin}${url.pathname}) gave no token for ${need.repository}: ${response.status}`,
        'check that the registry\'s token service is working',
      );
    }
    this.secrets.add(token);
    const lifetimeS = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    const authorization = `Bearer ${token}`;
    this.tokens.set(tokenScopesFor(need).join(' '), {
      authorization,
      expiresAt: Date.now() + Math.max(lifetimeS * 1000 - TOKEN_EXPIRY_MARGIN_MS, lifetimeS * 500),
    });
    return authorization;
  }

  private loginFix(): string {
    return this.settings.credentials === 'docker-config'
      ? `run \`docker login ${this.registry}\` (credentials are read from ${this.settings.dockerConfigPath})`
      : `run \`docker login ${this.registry}\` and pass credentials: 'docker-config', or pass a username and password`;
  }

  missingCredentials(need: AccessNeed): KernelBuildError {
    return new KernelBuildError(
      `registry ${this.registry} requires credentials to ${need.access} ${need.repository}, and none were given`,
      this.loginFix(),
    );
  }

  rejectedCredentials(need: AccessNeed, registrySaid: string): KernelBuildError {
    return new KernelBuildError(
      `registry ${this.registry} refused the credentials to ${need.access} ${need.repository}`,
      this.settings.credentials === 'docker-config'
        ? `log in again with \`docker login ${this.registry}\`, or fix the entry for ${this.registry} in ${this.settings.dockerConfigPath}`
        : 'check the username and password (or token) given for this registry',
      `the registry said: ${registrySaid}`,
    );
  }

  /**
   * The error for a request still refused after we answered the challenge, or refused with 403.
   * A 401 whose challenge says `insufficient_scope` means the credentials were fine but lack the
   * right, which is a denial, not a bad password.
   */
  async refusal(status: number, challengeHeader: string | null, registrySaid: string, need: AccessNeed): Promise<KernelBuildError> {
    const credentials = await this.loadCredentials();
    if (!credentials) return this.missingCredentials(need);
    const lacksScope = parseWwwAuthenticate(challengeHeader ?? '').some((challenge) => challenge.params.error === 'insufficient_scope');
    if (status === 401 && !lacksScope) return this.rejectedCredentials(need, registrySaid);
    return new KernelBuildError(
      `registry ${this.registry} denied ${need.access} access to ${need.repository}`,
      `ask for ${need.access} rights on ${need.repository}, push under an organisation you own, ` +
        `or log in as an account that has them (\`docker login ${this.registry}\`)`,
      `the registry said: ${registrySaid}`,
    );
  }
}
