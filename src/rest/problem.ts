import type { FastifyReply } from 'fastify';
import { CapabilityError, isCapabilityError } from '../errors/capability-error.js';
import { ERROR_CODES } from '../errors/codes.js';

/** RFC 9457 problem details, with our stable code as an extension member. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

const DOCS = 'https://github.com/naftiko-ts/naftiko-ts/blob/main/docs/errors.md';

/** Turns any error into a problem body; anything that is not ours is a 500. */
export function toProblem(err: unknown): ProblemBody {
  const error = isCapabilityError(err)
    ? err
    : new CapabilityError('CAP_INTERNAL', 'internal error; see the server log', { cause: err });
  const extra: Record<string, unknown> = {};
  for (const key of ['parameter', 'expected', 'received', 'upstreamStatus', 'namespace'] as const) {
    if (error.data[key] !== undefined) extra[key] = error.data[key];
  }
  return {
    type: `${DOCS}#${error.code.toLowerCase()}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemBody): FastifyReply {
  return reply
    .code(problem.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify(problem));
}

/**
 * Fastify's own early failures (a URL that is not valid percent-encoding,
 * a malformed header) answered as our problems, not Fastify's JSON.
 */
export function frameworkErrorAsProblem(error: { code?: string; message: string }, _request: unknown, reply: FastifyReply): void {
  void sendProblem(reply, toProblem(new CapabilityError('CAP_INPUT_INVALID', `the request cannot be read: ${error.message} (${error.code ?? 'FST_ERR'})`)));
}
