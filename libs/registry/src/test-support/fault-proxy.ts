import http, { IncomingHttpHeaders } from 'http';
import net from 'net';

/** A request as the proxy saw it; `path` includes the query. */
export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export type Fault =
  /** Answer this instead of the registry; with `cutAfterBytes`, drop the connection that far into the body. */
  | { respond: number; body?: string | Buffer; headers?: Record<string, string>; cutAfterBytes?: number }
  /** Drop the connection once this many bytes of the request body have arrived (0: at once). */
  | { resetAfterBodyBytes: number };

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to use as the registry name. */
  url: string;
  /** Every request that reached the proxy, in order, faulted or not. */
  requests: { method: string; path: string; faulted: boolean }[];
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a real registry that can, per request, answer in its place
 * or cut the connection mid-body: the faults a push meets on a real network, on demand. The
 * Host header is passed through, so the registry's upload Locations point back at the proxy.
 */
export async function startFaultProxy(options: {
  upstream: string;
  fault?: (request: ProxiedRequest) => Fault | undefined;
}): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = options.upstream.split(':');
  const requests: FaultProxy['requests'] = [];
  const server = http.createServer((req, res) => {
    const seen: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    const fault = options.fault?.(seen);
    requests.push({ method: seen.method, path: seen.path, faulted: fault !== undefined });
    if (fault && 'respond' in fault) {
      req.resume();
      req.on('end', () => {
        const body = Buffer.from(fault.body ?? '');
        res.writeHead(fault.respond, { 'content-type': 'application/json', 'content-length': String(body.length), ...fault.headers });
        if (fault.cutAfterBytes === undefined) return res.end(body);
        res.write(body.subarray(0, fault.cutAfterBytes), () => res.socket?.destroy());
      });
      return;
    }
    if (fault) {
      let received = 0;
      const cut = () => req.socket.destroy();
      if (fault.resetAfterBodyBytes === 0) return cut();
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= fault.resetAfterBodyBytes) cut();
      });
      req.on('end', cut);
      return;
    }
    const forwarded = http.request(
      { host: upstreamHost, port: Number(upstreamPort), method: seen.method, path: seen.path, headers: req.headers },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
