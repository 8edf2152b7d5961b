import { createServer, IncomingMessage, ServerResponse } from 'http';
import { AddressInfo } from 'net';

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

export interface LoopbackServer {
  url(pathname: string): string;
  /** `GET /path` for every request received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 for one test file. Unknown paths answer 404. It closes itself after
 * `lifetimeMs` in case a test forgets, and never keeps the process alive.
 */
export async function startLoopbackServer(routes: Record<string, Route>, lifetimeMs = 30_000): Promise<LoopbackServer> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const route = routes[request.url ?? ''];
    if (route) return route(request, response);
    response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  setTimeout(() => void close(), lifetimeMs).unref();
  const { port } = server.address() as AddressInfo;
  return { url: (pathname) => `http://127.0.0.1:${port}${pathname}`, requests, close };
}

export function serveBytes(bytes: Uint8Array): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
    response.end(bytes);
  };
}

export function failWith(status: number): Route {
  return (_request, response) => {
    response.writeHead(status).end(`status ${status}`);
  };
}

/** Announces the full length, sends the first half, then destroys the socket. */
export function sendHalfThenCut(bytes: Uint8Array): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-length': bytes.length });
    response.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => response.socket?.destroy(), 10));
  };
}

/** Sends the first half, waits until `resume` settles, then sends the rest. */
export function sendHalfThenWait(bytes: Uint8Array, resume: Promise<void>): Route {
  return (_request, response) => {
    response.writeHead(200, { 'content-length': bytes.length });
    response.write(bytes.subarray(0, bytes.length >> 1));
    void resume.then(() => response.end(bytes.subarray(bytes.length >> 1)));
  };
}

/** The n-th request is answered by the n-th route; the last one answers all later requests. */
export function inTurn(...routes: Route[]): Route {
  let served = 0;
  return (request, response) => routes[Math.min(served++, routes.length - 1)](request, response);
}
