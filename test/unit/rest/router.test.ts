import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../../src/rest/router.js';

describe('route table', () => {
  const table = new RouteTable<string>();
  table.add('/v1/accounts/{account-id}/runs/{id}/logs', new Map([['GET', 'logs']]));
  table.add('/ships/{{imo}}', new Map([['GET', 'ship'], ['DELETE', 'drop']]));
  table.add('/files/{name}.csv', new Map([['GET', 'csv']]));

  it('matches single- and double-brace variables and decodes them', () => {
    expect(table.lookup('GET', '/v1/accounts/a%20b/runs/r1/logs')).toEqual({ found: true, match: { route: 'logs', params: { 'account-id': 'a b', id: 'r1' } } });
    expect(table.lookup('DELETE', '/ships/IMO-1')).toMatchObject({ found: true, match: { route: 'drop', params: { imo: 'IMO-1' } } });
    expect(table.lookup('GET', '/files/report.csv')).toMatchObject({ match: { params: { name: 'report' } } });
  });

  it('serves HEAD from GET, lists allowed methods, and misses cleanly', () => {
    expect(table.lookup('HEAD', '/ships/IMO-1')).toMatchObject({ found: true, match: { route: 'ship' } });
    expect(table.lookup('POST', '/ships/IMO-1')).toEqual({ found: false, allowed: ['GET', 'DELETE'] });
    expect(table.lookup('GET', '/ships/IMO-1/extra')).toBeUndefined();
    expect(table.lookup('GET', '/ships/%E0%A4%A')).toBeUndefined();
  });
});
