// Vitest global setup: one real Prefect server for the whole run, shared by
// every test file through `provide`/`inject`. Tests that need it call
// requirePrefect() in beforeAll; the others ignore it.
import { inject } from 'vitest';
import type { TestProject } from 'vitest/node';
import {
  hasPrefectVenv,
  resolveVenvDir,
  startPrefectServer,
  type PrefectServerInfo,
} from './prefect-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared Prefect server, or null when it could not be started. */
    prefect: PrefectServerInfo | null;
  }
}

const SETUP_HINT = 'run npm run prefect:setup';

/** Starts the shared server (or provides null) and returns its teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.NAFTIKO_SKIP_PREFECT === '1') {
    console.warn('[prefect] NAFTIKO_SKIP_PREFECT=1: tests that need Prefect will fail');
    project.provide('prefect', null);
    return async () => {};
  }
  if (!hasPrefectVenv()) {
    return withoutPrefect(project);
  }

  const server = await startPrefectServer();
  console.info(`[prefect] server ready at ${server.apiUrl} in ${server.startupMs} ms`);
  project.provide('prefect', {
    origin: server.origin,
    apiUrl: server.apiUrl,
    basePath: server.basePath,
    accountId: server.accountId,
    workspaceId: server.workspaceId,
  });
  return () => server.stop();
}

/** The shared server's coordinates; throws when the run has none. */
export function requirePrefect(): PrefectServerInfo {
  const prefect = inject('prefect');
  if (prefect === null || prefect === undefined) {
    throw new Error(`Prefect server not available: ${SETUP_HINT}`);
  }
  return prefect;
}

// Locally a missing venv should not block unit tests, but it must be
// impossible to miss; on CI it is a broken pipeline, so fail at once.
function withoutPrefect(project: TestProject): () => Promise<void> {
  const message = [
    '',
    '!'.repeat(72),
    `!! Prefect is not installed (${resolveVenvDir()}/bin/prefect is missing).`,
    '!! Tests that need the real Prefect server will FAIL.',
    `!! To install it: ${SETUP_HINT}`,
    '!'.repeat(72),
    '',
  ].join('\n');
  if (process.env.CI === 'true') {
    throw new Error(`Prefect is required on CI. ${message}`);
  }
  console.warn(message);
  project.provide('prefect', null);
  return async () => {};
}
