import { defineConfig } from 'vitest/config';

// Tests that need the real Prefect server share one instance started by the
// global setup; the others never wait for it.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { NO_PROXY: '127.0.0.1,localhost,::1', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' },
  },
});
