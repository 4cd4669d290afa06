// Floor of the start-up scenario: a Node process that does nothing but
// listen on two ports, as the runtime does for its REST and MCP adapters.
// Environment: PORT_A, PORT_B. Listens on 127.0.0.1.
import { createServer } from 'node:http';

for (const port of [process.env.PORT_A, process.env.PORT_B]) {
  createServer((_req, res) => res.end()).listen(Number(port), '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
