import { Readable } from 'stream';
import { AccessNeed, RegistryAuthenticator } from './registry-auth';
import { describeRegistryResponse } from './registry-error-body';
import { RegistryEndpoint } from './registry-endpoint';
import { discardBody, fetchOrFail, readBodyText } from './http-body';
import { TransientRegistryFailure } from './retry-policy';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RegistryRequest extends AccessNeed {
  method: HttpMethod;
  /** A path under the registry (`/v2/…`) or an absolute URL it handed us (an upload Location). */
  url: string | URL;
  headers?: Record<string, string>;
  /** Opened afresh for each send, since a streamed body can be read only once and auth may need a resend. */
  body?: { length: number; open: () => Buffer | Readable };
}

/**
 * Sends requests to one registry with the right Authorization: answers a 401 challenge once and
 * resends, turns a refusal that survives that into the authenticator's error, and a 5xx or a
 * broken connection into a TransientRegistryFailure for the caller's retry loop. Credentials
 * and tokens go only to the registry's own origin, never to a URL it redirects uploads to.
 */
export class RegistryTransport {
  constructor(
    private readonly endpoint: RegistryEndpoint,
    private readonly authenticator: RegistryAuthenticator,
    private readonly fetchImpl: typeof fetch,
    private readonly userAgent: string,
  ) {}

  async send(request: RegistryRequest): Promise<Response> {
    const url = new URL(request.url, this.endpoint.origin);
    const ownOrigin = url.origin === this.endpoint.origin;
    let authorization = ownOrigin ? await this.authenticator.authorizationFor(request) : undefined;
    let response = await this.sendOnce(url, request, authorization);
    if (response.status === 401 && ownOrigin) {
      await discardBody(response);
      authorization = await this.authenticator.answerChallenge(response.headers.get('www-authenticate'), request);
      response = await this.sendOnce(url, request, authorization);
    }
    if (response.status === 401 || response.status === 403) {
      const said = describeRegistryResponse(response.status, response.statusText, await readBodyText(response));
      throw await this.authenticator.refusal(response.status, response.headers.get('www-authenticate'), said, request);
    }
    if (response.status >= 500) {
      const said = describeRegistryResponse(response.status, response.statusText, await readBodyText(response));
      throw new TransientRegistryFailure(`registry ${this.endpoint.registry} answered ${request.method} with ${said}`);
    }
    return response;
  }

  private async sendOnce(url: URL, request: RegistryRequest, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...request.headers };
    if (authorization) headers.authorization = authorization;
    const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers };
    const body = request.body?.open();
    if (request.body && body) {
      headers['content-length'] = String(request.body.length);
      init.body = body;
      init.duplex = 'half';
    }
    try {
      const response = await fetchOrFail(this.fetchImpl, url, init, `registry ${this.endpoint.registry}`);
      // A registry may answer (401, say) before reading all of a streamed body; close the file then.
      if (response.status >= 400 && body instanceof Readable) body.destroy();
      return response;
    } catch (error) {
      if (body instanceof Readable) body.destroy();
      throw error;
    }
  }
}
