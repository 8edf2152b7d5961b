import http from 'http';
import net from 'net';
import { Fault, ProxiedRequest } from './fault-proxy';

export interface TokenServer {
  /** The token endpoint, for the WWW-Authenticate realm. */
  realm: string;
  service: string;
  /** Each token request: the scopes asked for and whether its Basic credentials were right. */
  tokenRequests: { scopes: string[]; service: string | null; authorized: boolean }[];
  /** A fault-proxy hook that makes the proxied registry demand this server's tokens, as a registry with token auth does. */
  requireBearer: (request: ProxiedRequest) => Fault | undefined;
  stop(): Promise<void>;
}

/** `/v2/<name>/blobs/…` → the scopes the distribution token spec says the request needs. */
function scopesNeeded(request: ProxiedRequest): { repository: string; actions: string[] }[] {
  const url = new URL(request.path, 'http://registry');
  const match = /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(url.pathname);
  if (!match) return [];
  const reads = request.method === 'GET' || request.method === 'HEAD';
  const needs = [{ repository: match[1], actions: reads ? ['pull'] : ['pull', 'push'] }];
  const mountSource = url.searchParams.get('from');
  if (mountSource) needs.push({ repository: mountSource, actions: ['pull'] });
  return needs;
}

function parseScope(scope: string): { repository: string; actions: string[] } | undefined {
  const match = /^repository:(.+):([a-z,*]+)$/.exec(scope);
  return match ? { repository: match[1], actions: match[2].split(',') } : undefined;
}

/**
 * A token service (the distribution token auth spec) that grants the scopes asked for to one
 * user, answering with `token` or `access_token` as told; and the gate that makes a registry
 * proxy demand its tokens.
 */
export async function startTokenServer(options: {
  user: string;
  password: string;
  tokenField?: 'token' | 'access_token';
  expiresInSeconds?: number;
  /** Grant only pull, whatever is asked: a user who may read but not push. */
  pullOnly?: boolean;
}): Promise<TokenServer> {
  const granted = new Map<string, string[]>();
  const tokenRequests: TokenServer['tokenRequests'] = [];
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  const service = 'test-token-registry';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    const authorized = req.headers.authorization === expected;
    tokenRequests.push({ scopes, service: url.searchParams.get('service'), authorized });
    if (!authorized) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'wrong credentials' }] }));
      return;
    }
    const token = `token-${tokenRequests.length}-${Math.random().toString(16).slice(2)}`;
    granted.set(token, options.pullOnly ? scopes.map((scope) => scope.replace(/:[a-z,*]+$/, ':pull')) : scopes);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ [options.tokenField ?? 'token']: token, expires_in: options.expiresInSeconds ?? 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;

  const requireBearer = (request: ProxiedRequest): Fault | undefined => {
    const needs = scopesNeeded(request);
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const has = (token && granted.get(token)?.map(parseScope)) || [];
    const covered = needs.every((need) =>
      has.some((scope) => scope?.repository === need.repository && need.actions.every((action) => scope.actions.includes(action))),
    );
    if (token && granted.has(token) && covered) return undefined;
    const scope = needs.map((need) => `repository:${need.repository}:${need.actions.join(',')}`).join(' ');
    const error = token && granted.has(token) ? ',error="insufficient_scope"' : '';
    return {
      respond: 401,
      headers: { 'www-authenticate': `Bearer realm="${realm}",service="${service}"${scope ? `,scope="${scope}"` : ''}${error}` },
      body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
    };
  };

  return {
    realm,
    service,
    tokenRequests,
    requireBearer,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
