import { describe, expect, it } from 'vitest';
import { createdTarget, decision, defaultAction, mcpRequest, pathTargets, safeDetail, unmatchedPath } from './describe';

describe('how a request is described in the audit log', () => {
  it('names the action from the method and the route pattern', () => {
    const cases: Array<[string, string, string]> = [
      ['POST', '/v1/keys', 'keys.create'],
      ['POST', '/v1/keys/:id/revoke', 'keys.revoke'],
      ['POST', '/v1/keys/:id/rotate', 'keys.rotate'],
      ['POST', '/v1/collections/:id/documents', 'collections.documents.create'],
      ['POST', '/v1/collections/:id/reingest', 'collections.reingest'],
      ['POST', '/v1/agents/runs/:id/approvals', 'agents.runs.approvals.create'],
      ['POST', '/v1/answers/:id/review', 'answers.review'],
      ['PUT', '/v1/secrets/:name', 'secrets.set'],
      ['PATCH', '/v1/mcp/servers/:id', 'mcp.servers.update'],
      ['DELETE', '/v1/documents/:id', 'documents.delete'],
      ['POST', '/v1/search', 'search'],
      ['POST', '/v1/llm/completions', 'llm.completions.create'],
      ['POST', '/v1/auth/logout', 'auth.logout'],
      ['POST', '/v1/mcp/servers/:id/tools/:name/approve', 'mcp.servers.tools.approve'],
      ['GET', '/v1/audit', 'audit.get'],
    ];
    for (const [method, route, action] of cases)
      expect(defaultAction(method, route), `${method} ${route}`).toBe(action);
  });

  it('names path parameters by the rows they name; a created row by its collection', () => {
    expect(pathTargets('/v1/mcp/servers/:id/tools/:name/approve', { id: 's1', name: 'echo' })).toEqual({
      server: 's1',
      tool: 'echo',
    });
    expect(pathTargets('/v1/secrets/:name', { name: 'db' })).toEqual({ secret: 'db' });
    expect(pathTargets('/v1/:a/:b', { a: 'x', b: 'y' })).toEqual({ a: 'x', b: 'y' });
    expect(pathTargets('/v1/keys/:id', { id: 'k'.repeat(500) }).key).toHaveLength(200);
    expect(createdTarget('/v1/keys', { id: 'k2' }, {})).toEqual({ key: 'k2' });
    expect(createdTarget('/v1/keys/:id/rotate', { id: 'k3' }, { key: 'k1' })).toEqual({ created: 'k3' });
    expect(createdTarget('/v1/keys', { name: 'no id' }, {})).toEqual({});
    expect(createdTarget('/v1/keys', null, {})).toEqual({});
  });

  it('reads a decision from its own fields only', () => {
    expect(decision('/v1/answers/:id/review', { decision: 'approve', note: 'free text' })).toEqual({
      detail: { decision: 'approve' },
      targets: {},
    });
    expect(decision('/v1/answers/:id/review', { decision: 'maybe' })).toBeNull();
    expect(decision('/v1/agents/runs/:id/approvals', { callId: 'c', approve: false, reason: 'r' })).toEqual({
      detail: { decision: 'reject' },
      targets: { toolCall: 'c' },
    });
    expect(
      decision('/v1/mcp/servers/:id/tools/:name/approve', { definitionHash: 'not a hash', sensitive: true }),
    ).toEqual({ detail: { decision: 'approve', sensitive: true }, targets: {} });
    expect(decision('/v1/keys', { decision: 'approve' })).toBeNull();
  });

  it('reads the JSON-RPC method and the tool called, never the arguments', () => {
    expect(mcpRequest({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ask', arguments: {} } })).toEqual(
      { rpcMethod: 'tools/call', tool: 'ask' },
    );
    expect(mcpRequest({ method: 'initialize', params: {} })).toEqual({ rpcMethod: 'initialize', tool: null });
    expect(
      mcpRequest([{ method: 'notifications/initialized' }, { method: 'tools/call', params: { name: 'ask' } }]),
    ).toEqual({ rpcMethod: 'tools/call', tool: 'ask' });
    expect(mcpRequest({ method: 'tools/call', params: { name: '../../etc' } })).toEqual({
      rpcMethod: 'tools/call',
      tool: null,
    });
    expect(mcpRequest('garbage')).toEqual({ rpcMethod: null, tool: null });
  });

  it('keeps no secret in a detail', () => {
    const key = `bc_${'A'.repeat(43)}`;
    expect(
      safeDetail({
        role: 'viewer',
        password: 'p',
        clientSecret: 's',
        accessToken: 't',
        key,
        limits: { dailyTokens: 5 },
        note: `made with ${key}`,
        nested: { authorization: 'Bearer x', ok: [1, 2] },
      }),
    ).toEqual({
      role: 'viewer',
      limits: { dailyTokens: 5 },
      note: 'made with bc_AAAAAAA…',
      nested: { ok: [1, 2] },
    });
    expect(safeDetail({ big: 'x'.repeat(5000) })).toEqual({ truncated: true });
    expect(unmatchedPath(`/v1/nothing/${key}`)).toBe('/v1/nothing/bc_AAAAAAA…');
  });
});
