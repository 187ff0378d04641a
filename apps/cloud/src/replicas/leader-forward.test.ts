import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdlegridError } from '@idlegrid/domain';
import type { AppEnv } from '../api/app-env.ts';
import { errorResponse } from '../api/http-errors.ts';
import { FORWARDED_BY_HEADER, FORWARDED_ORIGIN_HEADER, forwardToLeader, type LeaderDirectory } from './leader-forward.ts';

/** A follower's forwarding in front of a stand-in leader that echoes what it received. */
describe('forwardToLeader', () => {
  let leader: Server;
  let leaderUrl: string;
  const received: Array<{ method: string; url: string; headers: Record<string, unknown>; body: string }> = [];

  beforeAll(async () => {
    leader = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(201, { 'content-type': 'application/json', 'x-from': 'leader' });
        res.end(JSON.stringify({ id: 'lse_from_leader' }));
      });
    });
    await new Promise<void>((r) => leader.listen(0, '127.0.0.1', r));
    leaderUrl = `http://127.0.0.1:${(leader.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => leader.close(() => r())));

  function follower(directory: LeaderDirectory): Hono<AppEnv> {
    const app = new Hono<AppEnv>();
    app.onError((err, c) => errorResponse(c, err, pino({ level: 'silent' })));
    const forward = forwardToLeader(directory, {
      authenticate: (c) => (c.req.header('authorization') === 'Bearer good' ? Promise.resolve() : Promise.reject(new IdlegridError('UNAUTHORIZED', { reason: 'bad key' }))),
      maxBodyBytes: 1_000,
    });
    app.use('/v1/clusters/*', forward);
    app.use('/v1/clusters', forward);
    app.get('/v1/clusters', (c) => c.json({ served: 'here' }));
    app.post('/v1/quotes', (c) => c.json({ served: 'here' }));
    return app;
  }
  const post = (app: Hono<AppEnv>, path: string, headers: Record<string, string> = { authorization: 'Bearer good' }, body = '{"gpu":"cpu"}') =>
    app.request(`http://follower.example:8471${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('forwards booking, extend and release to the leader with the buyer’s key, and returns its answer as is', async () => {
    const app = follower({ id: 'r-f', isLeader: false, leaderUrl: () => leaderUrl });
    const res = await post(app, '/v1/clusters?x=1');
    expect(res.status).toBe(201);
    expect(res.headers.get('x-from')).toBe('leader');
    expect(await res.json()).toEqual({ id: 'lse_from_leader' });
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/v1/clusters?x=1', body: '{"gpu":"cpu"}' });
    expect(received.at(-1)?.headers).toMatchObject({ authorization: 'Bearer good', [FORWARDED_BY_HEADER]: 'r-f', [FORWARDED_ORIGIN_HEADER]: 'http://follower.example:8471' });
    for (const path of ['/v1/clusters/lse_a/extend', '/v1/clusters/lse_a/release']) expect((await post(app, path)).status).toBe(201);
    // Reads and other routes are served where they arrive.
    expect(await (await app.request('/v1/clusters')).json()).toEqual({ served: 'here' });
    expect(await (await post(app, '/v1/quotes')).json()).toEqual({ served: 'here' });
  });

  it('answers here what it should not forward: no key, too large, no leader, leader gone, a loop', async () => {
    const before = received.length;
    const app = follower({ id: 'r-f', isLeader: false, leaderUrl: () => leaderUrl });
    expect((await post(app, '/v1/clusters', {})).status).toBe(401);
    expect((await post(app, '/v1/clusters', { authorization: 'Bearer good' }, 'x'.repeat(2_000))).status).toBe(413);
    const looped = await post(app, '/v1/clusters', { authorization: 'Bearer good', [FORWARDED_BY_HEADER]: 'r-other' });
    expect(looped.status).toBe(503);
    expect(((await looped.json()) as { error: { code: string } }).error.code).toBe('NO_LEADER');
    expect(received.length).toBe(before);

    const electing = await post(follower({ id: 'r-f', isLeader: false, leaderUrl: () => null }), '/v1/clusters');
    expect(electing.status).toBe(503);
    expect(electing.headers.get('retry-after')).toBe('3');
    const gone = await post(follower({ id: 'r-f', isLeader: false, leaderUrl: () => 'http://127.0.0.1:1' }), '/v1/clusters');
    expect(gone.status).toBe(503);
    expect(((await gone.json()) as { error: { message: string } }).error.message).toMatch(/did not answer/);
  });

  it('lets the leader serve everything itself', async () => {
    const app = follower({ id: 'r-l', isLeader: true, leaderUrl: () => null });
    app.post('/v1/clusters', (c) => c.json({ served: 'leader' }, 201));
    expect(await (await post(app, '/v1/clusters')).json()).toEqual({ served: 'leader' });
  });
});
