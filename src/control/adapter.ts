import Fastify, { type FastifyInstance, type RouteHandlerMethod } from 'fastify';
import { CapabilityError } from '../errors/capability-error.js';
import { frameworkErrorAsProblem, sendProblem, toProblem } from '../rest/problem.js';
import type { Telemetry } from './telemetry.js';

/** State of one adapter as the readiness probe reports it. */
export interface AdapterState {
  readonly type: string;
  readonly namespace: string;
  readonly port: number | undefined;
  readonly state: 'started' | 'stopped';
}

interface ControlSpec {
  readonly management?: { readonly health?: boolean; readonly info?: boolean; readonly [key: string]: unknown };
  readonly observability?: { readonly enabled?: boolean; readonly [key: string]: unknown };
}

export interface ControlAdapterOptions {
  readonly expose: ControlSpec;
  readonly telemetry: Telemetry;
  /** The other adapters, read at request time. */
  readonly states: () => readonly AdapterState[];
  readonly info: () => Record<string, unknown>;
}

/**
 * The control adapter (spec 1.9): liveness and readiness, optional status,
 * Prometheus metrics and recent traces. It never serves capability data.
 */
export function createControlAdapter(options: ControlAdapterOptions): { app: FastifyInstance; routes: readonly string[] } {
  const { expose, telemetry } = options;
  const app = Fastify({ logger: false, forceCloseConnections: 'idle', frameworkErrors: frameworkErrorAsProblem });
  const routes: string[] = [];
  const get = (path: string, handler: RouteHandlerMethod) => {
    routes.push(path);
    app.get(path, handler);
  };

  if (expose.management?.health ?? true) {
    get('/health/live', async () => ({ status: 'UP' }));
    get('/health/ready', async (_req, reply) => {
      const adapters = options.states();
      const ready = adapters.every((a) => a.state === 'started');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'UP' : 'DEGRADED', adapters });
    });
  }
  if (expose.management?.info === true) get('/status', async () => options.info());
  if (expose.observability?.enabled ?? true) {
    get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(telemetry.metricsText()));
    get('/traces', async () => ({ traces: telemetry.traces() }));
    get('/traces/:traceId', async (req, reply) => {
      const id = (req.params as { traceId: string }).traceId;
      const trace = telemetry.trace(id);
      return trace ?? sendProblem(reply, toProblem(new CapabilityError('CAP_ROUTE_NOT_FOUND', `no trace ${id} in the buffer`)));
    });
  }
  app.setNotFoundHandler((req, reply) => sendProblem(reply, toProblem(new CapabilityError('CAP_ROUTE_NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`))));
  return { app, routes };
}
