import { describe, expect, it } from 'vitest';
import { lookupByNamespace, parseCommand } from '../../../src/cli/options.js';

describe('command line', () => {
  it('treats a bare file as serve and lets the command line win over the environment', () => {
    const cmd = parseCommand(['cap.yaml', '--base-uri', 'prefect-download=http://cli', '--port', 'prefect-download-rest=0'], {
      NAFTIKO_BASE_URI_PREFECT_DOWNLOAD: 'http://env',
      NAFTIKO_PORT_PREFECT_DOWNLOAD_MCP: '9191',
      NAFTIKO_HOST: '0.0.0.0',
    });
    expect(cmd.kind).toBe('serve');
    if (cmd.kind !== 'serve') return;
    expect(lookupByNamespace(cmd.options.baseUris, 'prefect-download')).toBe('http://cli');
    expect(lookupByNamespace(cmd.options.ports, 'prefect-download-rest')).toBe(0);
    expect(lookupByNamespace(cmd.options.ports, 'prefect-download-mcp')).toBe(9191);
    expect(cmd.options.host).toBe('0.0.0.0');
    expect(cmd.options.strict).toBe(false);
  });

  it('reads the environment when the command line is silent', () => {
    const cmd = parseCommand(['serve', 'cap.yaml'], { NAFTIKO_BASE_URI_PREFECT_DOWNLOAD: 'http://env', NAFTIKO_STRICT: '1' });
    if (cmd.kind !== 'serve') throw new Error('expected serve');
    expect(lookupByNamespace(cmd.options.baseUris, 'prefect-download')).toBe('http://env');
    expect(cmd.options.strict).toBe(true);
  });

  it.each([
    [['cap.yaml', '--port', 'x=70000'], 'must be an integer from 0 to 65535'],
    [['cap.yaml', '--base-uri', 'nonsense'], 'expects <namespace>=<value>'],
    [['--bogus'], "Unknown option '--bogus'"],
    [[], 'no capability file given'],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrow(expect.objectContaining({ code: 'CAP_CONFIG_USAGE', message: expect.stringContaining(message) }));
  });
});
