import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake upstream saw it. */
export interface SeenRequest {
  readonly method: string;
  /** Raw request target: path and query exactly as sent. */
  readonly target: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type FakeHandler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeUpstream {
  readonly url: string;
  readonly seen: SeenRequest[];
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

/** A scriptable upstream on 127.0.0.1 for integration tests. */
export async function startFakeUpstream(initial?: FakeHandler): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  let handler: FakeHandler = initial ?? ((_req, res) => res.writeHead(404).end());

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const record = { method: req.method ?? '', target: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    seen.push(record);
    try {
      await handler(record, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end('fake upstream handler failed');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
}
