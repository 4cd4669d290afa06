import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBinds } from '../../../src/binding/binds.js';

describe('binds (dialect D7)', () => {
  it('reads environment keys and exposes them as VAR and namespace.VAR', async () => {
    const binds = await resolveBinds([{ namespace: 'env', keys: { PREFECT_API_KEY: 'PREFECT_API_KEY' } }], '/x/cap.yaml', { PREFECT_API_KEY: 'k1' });
    expect(binds.get('PREFECT_API_KEY')).toBe('k1');
    expect(binds.get('env.PREFECT_API_KEY')).toBe('k1');
  });

  it('stops naming the variable when the environment lacks it', async () => {
    await expect(resolveBinds([{ namespace: 'env', keys: { PREFECT_API_KEY: 'PREFECT_API_KEY' } }], '/x/cap.yaml', {})).rejects.toMatchObject({
      code: 'CAP_CONFIG_BIND',
      message: expect.stringContaining('environment variable PREFECT_API_KEY is not set'),
    });
  });

  it('reads file locations relative to the capability file, not the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'binds-'));
    writeFileSync(join(dir, 'secrets.yaml'), 'registry-bearer-token: t0k\n');
    const binds = await resolveBinds([{ namespace: 'reg', location: 'file:///./secrets.yaml', keys: { REGISTRY_TOKEN: 'registry-bearer-token' } }], join(dir, 'cap.yaml'), {});
    expect(binds.get('REGISTRY_TOKEN')).toBe('t0k');
  });
});
