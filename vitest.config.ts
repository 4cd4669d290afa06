import { defineConfig } from 'vitest/config';

// Tests that need the real Prefect server share one instance started by the
// global setup (7-10 s before any test runs). NAFTIKO_SKIP_PREFECT=1 skips
// it for a quick unit run; tests that need Prefect then fail, saying why.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // On CI a JSON report lets .ci/run print a plain "N passed, N failed" line.
    ...(process.env.CI === 'true' ? { reporters: ['default', 'json'], outputFile: { json: 'test-results.json' } } : {}),
    env: { NO_PROXY: '127.0.0.1,localhost,::1', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' },
  },
});
