// Baseline for the REST scenario: the least a Fastify gateway can do for
// this route — match it, send the same request upstream with undici, stream
// the answer back. Any gateway pays at least this much.
//
// Environment: UPSTREAM (base URL), PORT. Listens on 127.0.0.1.
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM;
const dispatcher = new Agent({ connections: 128 });
const app = Fastify({ logger: false });

app.get(
  '/v1/api/accounts/:account/workspaces/:workspace/flow-runs/:id/logs',
  async (req, reply) => {
    const { account, workspace, id } = req.params;
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    const path = `/api/accounts/${account}/workspaces/${workspace}/flow_runs/${id}/logs${query}`;
    const res = await request(`${upstream}${path}`, { dispatcher });
    return reply
      .code(res.statusCode)
      .header('content-type', res.headers['content-type'])
      .send(res.body);
  },
);

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => process.exit(0));
