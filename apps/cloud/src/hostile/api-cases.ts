/**
 * The hostile HTTP corpus: each case is data — what is sent and the coded refusal expected
 * (or, for inputs that are legal but must have no effect, the neutralized result).
 */
export interface ApiWorld {
  /** Buyer A's and buyer B's API keys; B owns `leaseB`, A owns `leaseA`. */
  keyA: string;
  keyB: string;
  walletA: string;
  walletB: string;
  leaseA: string;
  leaseB: string;
  /** A key that was valid and is revoked now. */
  revokedKey: string;
  /** POST /v1/auth/keys bodies: signed by another wallet; a challenge already used; a challenge issued for another wallet. */
  loginSignedByOther: Record<string, string>;
  loginReplayed: Record<string, string>;
  loginOtherWalletsChallenge: Record<string, string>;
  /** Deposit transactions: one signed by B (submitted with A's key), one already credited to A. */
  depositSignedByB: string;
  depositReplayed: string;
  /** Buyer A's lease price per hour before the corpus runs. */
  leaseAPrice: string;
}

export type ApiExpectation =
  | { status: number; code: string }
  | { status: number; what: string; check: (body: Record<string, unknown>, raw: string) => boolean };

export interface ApiCase {
  category: string;
  name: string;
  method: string;
  path: string;
  /** The whole Authorization header value, if any. */
  auth?: string;
  headers?: Record<string, string>;
  body?: string;
  expect: ApiExpectation;
}

const bearer = (key: string) => `Bearer ${key}`;
const refused = (status: number, code: string): ApiExpectation => ({ status, code });

export function apiCases(w: ApiWorld, o: { maxBodyBytes: number }): ApiCase[] {
  const A = bearer(w.keyA);
  const quote = (body: string, expect: ApiExpectation, name: string, category = 'wrong types'): ApiCase => ({ category, name, method: 'POST', path: '/v1/quotes', body, expect });
  const cases: ApiCase[] = [
    // ---- malformed JSON ----
    ...([
      ['truncated object', '{"gpu": "cpu", "count": '],
      ['trailing garbage', '{"gpu":"cpu","count":1,"hours":1} xyz'],
      ['NaN literal', '{"gpu":"cpu","count":NaN,"hours":1}'],
      ['single quotes', "{'gpu':'cpu'}"],
      ['nested 100k deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
      ['binary bytes', '\u0000\u0001\u0002\uFFFD'],
      ['XML', '<quote><gpu>cpu</gpu></quote>'],
    ] as const).map(([name, body]) => quote(body, body.startsWith('[[') ? refused(400, 'VALIDATION_FAILED') : refused(400, 'MALFORMED_JSON'), name, 'malformed JSON')),
    { category: 'malformed JSON', name: 'login body not JSON', method: 'POST', path: '/v1/auth/keys', body: 'wallet=x&nonce=y', expect: refused(400, 'MALFORMED_JSON') },

    // ---- wrong types ----
    quote('{"gpu":"cpu","count":"1","hours":1}', refused(400, 'VALIDATION_FAILED'), 'count as a string'),
    quote('{"gpu":"cpu","count":1,"hours":-1}', refused(400, 'VALIDATION_FAILED'), 'negative hours'),
    quote('{"gpu":"cpu","count":1.5,"hours":1}', refused(400, 'VALIDATION_FAILED'), 'fractional count'),
    quote('{"gpu":"cpu","count":1e308,"hours":1}', refused(400, 'VALIDATION_FAILED'), 'count 1e308'),
    quote('{"gpu":7,"count":1,"hours":1}', refused(400, 'VALIDATION_FAILED'), 'gpu as a number'),
    quote('{"gpu":"cpu","count":1,"hours":1,"regions":"local"}', refused(400, 'VALIDATION_FAILED'), 'regions as a string'),
    quote('{"gpu":"cpu","count":1,"hours":1,"maxPrice":"99999999999999999999999999"}', refused(400, 'VALIDATION_FAILED'), 'price beyond range'),
    quote('{"gpu":"cpu\\u0000","count":1,"hours":1}', refused(400, 'UNKNOWN_GPU_MODEL'), 'NUL in the model'),
    quote('[]', refused(400, 'VALIDATION_FAILED'), 'array body'),
    quote('null', refused(400, 'VALIDATION_FAILED'), 'null body'),
    { category: 'wrong types', name: 'extend hours as a string', method: 'POST', path: `/v1/clusters/${w.leaseA}/extend`, auth: A, body: '{"hours":"1"}', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'wrong types', name: 'limit as a huge number', method: 'GET', path: '/v1/devices?limit=1e309', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'wrong types', name: 'a query field given twice', method: 'GET', path: '/v1/supply?gpu=cpu&gpu=H100', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'wrong types', name: 'withdraw a negative amount', method: 'POST', path: '/v1/wallet/withdrawals', auth: A, body: '{"amount":"-5"}', expect: refused(400, 'VALIDATION_FAILED') },

    // ---- oversized ----
    quote(JSON.stringify({ gpu: 'cpu', count: 1, hours: 1, pad: 'x'.repeat(o.maxBodyBytes + 1) }), refused(413, 'PAYLOAD_TOO_LARGE'), 'body one byte over the limit', 'oversized'),
    { category: 'oversized', name: 'declared content-length of 1 GB', method: 'POST', path: '/v1/quotes', headers: { 'content-length': String(2 ** 30) }, body: '{}', expect: refused(413, 'PAYLOAD_TOO_LARGE') },
    { category: 'oversized', name: '100 kB id in the path', method: 'GET', path: `/v1/devices/${'A'.repeat(100_000)}`, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'oversized', name: '100 kB query value', method: 'GET', path: `/v1/supply?gpu=${'H'.repeat(100_000)}`, expect: refused(400, 'UNKNOWN_GPU_MODEL') },
    { category: 'oversized', name: 'withdraw 10^15 IO (past a 64-bit column)', method: 'POST', path: '/v1/wallet/withdrawals', auth: A, body: '{"amount":"401679179520120"}', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'oversized', name: 'unsigned deposit of 7.8 * 10^14 IO (past u64 base units)', method: 'POST', path: '/v1/wallet/deposits/unsigned', auth: A, body: '{"token":"IO","amount":"779721143220255"}', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'oversized', name: 'unstake 10^17 IO', method: 'POST', path: '/v1/stake/unstake', auth: A, body: JSON.stringify({ deviceId: w.walletB, amount: '100000000000000000' }), expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'oversized', name: '10 000 regions', method: 'POST', path: '/v1/quotes', body: JSON.stringify({ gpu: 'cpu', count: 1, hours: 1, regions: Array(10_000).fill('local') }), expect: refused(400, 'VALIDATION_FAILED') },

    // ---- path traversal in ids ----
    { category: 'path traversal', name: 'cluster id ../', method: 'GET', path: `/v1/clusters/..%2F..%2Fv1%2Fwallet`, auth: A, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'path traversal', name: "B's id smuggled after A's", method: 'GET', path: `/v1/clusters/${w.leaseA}%2F..%2F${w.leaseB}`, auth: A, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'path traversal', name: 'proxy to B through an encoded ../', method: 'GET', path: `/v1/clusters/${w.leaseB}%2F..%2F${w.leaseA}/ray/api/jobs/`, auth: A, expect: refused(404, 'NOT_FOUND') },
    { category: 'path traversal', name: 'device id /etc/passwd', method: 'GET', path: '/v1/devices/..%2F..%2F..%2Fetc%2Fpasswd', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'path traversal', name: 'malformed percent escape', method: 'GET', path: '/v1/devices/%zz', expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'path traversal', name: 'dashboard asset ../ to package.json', method: 'GET', path: '/assets/..%2F..%2F..%2F..%2Fpackage.json', expect: { status: 200, what: 'the SPA page, not the file', check: (_b, raw) => !raw.includes('"workspaces"') && !raw.includes('"name"') } },
    { category: 'path traversal', name: 'dashboard malformed escape', method: 'GET', path: '/%zz', expect: { status: 200, what: 'the SPA page', check: (_b, raw) => raw.includes('<html') } },
    { category: 'path traversal', name: 'explorer lease id with ..', method: 'GET', path: '/v1/explorer/leases/lse_..%2F..', expect: refused(400, 'VALIDATION_FAILED') },

    // ---- SQL-ish strings ----
    { category: 'SQL-ish', name: "cluster id ' OR '1'='1", method: 'GET', path: `/v1/clusters/${encodeURIComponent("lse_' OR '1'='1")}`, auth: A, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'SQL-ish', name: 'DROP TABLE in gpu', method: 'GET', path: `/v1/supply?gpu=${encodeURIComponent("cpu'; DROP TABLE leases;--")}`, expect: refused(400, 'UNKNOWN_GPU_MODEL') },
    { category: 'SQL-ish', name: 'UNION in cursor', method: 'GET', path: `/v1/devices?cursor=${encodeURIComponent("' UNION SELECT key_hash FROM api_keys--")}`, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'SQL-ish', name: 'OR 1=1 in the wallet of a challenge', method: 'GET', path: `/v1/auth/challenge?wallet=${encodeURIComponent("x' OR 1=1--")}`, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'SQL-ish', name: 'state filter with a quote', method: 'GET', path: `/v1/clusters?state=${encodeURIComponent("ready' OR 'a'='a")}`, auth: A, expect: refused(400, 'VALIDATION_FAILED') },
    { category: 'SQL-ish', name: "A's list stays A's after all that", method: 'GET', path: '/v1/clusters', auth: A, expect: { status: 200, what: "only A's lease", check: (b) => JSON.stringify((b['clusters'] as Array<{ id: string }>).map((c) => c.id)) === JSON.stringify([w.leaseA]) } },

    // ---- unknown fields (ignored: they must have no effect) ----
    { category: 'unknown fields', name: 'extend with buyer and price fields', method: 'POST', path: `/v1/clusters/${w.leaseA}/extend`, auth: A, body: JSON.stringify({ hours: 0.01, buyer: w.walletB, pricePerHour: '0', state: 'ended' }), expect: { status: 200, what: 'price and state unchanged', check: (b) => b['pricePerHour'] === w.leaseAPrice && b['state'] === 'ready' } },
    quote('{"gpu":"cpu","count":1,"hours":1,"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":1}}}', { status: 200, what: 'no prototype pollution', check: () => ({} as Record<string, unknown>)['polluted'] === undefined && ({} as Record<string, unknown>)['admin'] === undefined }, 'prototype pollution keys', 'unknown fields'),
    { category: 'unknown fields', name: 'withdraw to another wallet', method: 'POST', path: '/v1/wallet/withdrawals', auth: A, body: JSON.stringify({ amount: '0.000001', wallet: w.walletB, to: w.walletB }), expect: { status: 201, what: 'paid to A, not B', check: (b) => JSON.stringify(b).includes(w.walletA) && !JSON.stringify(b).includes(w.walletB) } },

    // ---- missing, forged, revoked API keys ----
    ...([
      ['no Authorization header', undefined],
      ['empty bearer', 'Bearer '],
      ['Basic scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['malformed key', 'Bearer not-a-key'],
      ['forged well-formed key', `Bearer igk_${'1'.repeat(44)}`],
      ["A's key with a byte flipped", `Bearer ${w.keyA.slice(0, -1)}${w.keyA.endsWith('1') ? '2' : '1'}`],
      ['revoked key', bearer(w.revokedKey)],
      ['two keys in one header', `Bearer ${w.keyA} ${w.keyB}`],
      ['SQL in the key', `Bearer igk_' OR '1'='1`],
    ] as const).flatMap(([name, auth]) => [
      { category: 'forged API keys', name: `${name}: GET /v1/me`, method: 'GET', path: '/v1/me', ...(auth ? { auth } : {}), expect: refused(401, 'UNAUTHORIZED') },
      { category: 'forged API keys', name: `${name}: proxy`, method: 'GET', path: `/v1/clusters/${w.leaseB}/ray/api/jobs/`, ...(auth ? { auth } : {}), expect: refused(401, 'UNAUTHORIZED') },
    ]),

    // ---- buyer A on buyer B's cluster ----
    ...([
      ['read', 'GET', ''],
      ['extend', 'POST', '/extend'],
      ['release', 'POST', '/release'],
      ['audit', 'GET', '/audit'],
      ['proxy to Ray', 'GET', '/ray/api/jobs/'],
      ['proxy a job submission', 'POST', '/ray/api/jobs/'],
      ['proxy to Serve', 'GET', '/serve/'],
    ] as const).map(([name, method, suffix]): ApiCase => ({
      category: 'cross-tenant', name: `A ${name}s B's cluster`, method, path: `/v1/clusters/${w.leaseB}${suffix}`, auth: A,
      ...(method === 'POST' ? { body: suffix === '/extend' ? '{"hours":1}' : '{"entrypoint":"echo pwned"}' } : {}),
      expect: refused(404, 'NOT_FOUND'),
    })),
    { category: 'cross-tenant', name: "B's list holds B's lease only", method: 'GET', path: '/v1/clusters', auth: bearer(w.keyB), expect: { status: 200, what: "B's lease still ready", check: (b) => JSON.stringify((b['clusters'] as Array<{ id: string; state: string }>).map((c) => [c.id, c.state])) === JSON.stringify([[w.leaseB, 'ready']]) } },

    // ---- forged and replayed signatures ----
    { category: 'forged/replayed', name: 'login signed by another wallet', method: 'POST', path: '/v1/auth/keys', body: JSON.stringify(w.loginSignedByOther), expect: refused(401, 'BAD_SIGNATURE') },
    { category: 'forged/replayed', name: 'login challenge replayed', method: 'POST', path: '/v1/auth/keys', body: JSON.stringify(w.loginReplayed), expect: refused(401, 'CHALLENGE_UNKNOWN') },
    { category: 'forged/replayed', name: "another wallet's challenge", method: 'POST', path: '/v1/auth/keys', body: JSON.stringify(w.loginOtherWalletsChallenge), expect: refused(401, 'CHALLENGE_UNKNOWN') },
    { category: 'forged/replayed', name: 'deposit signed by B, submitted by A', method: 'POST', path: '/v1/wallet/deposits', auth: A, body: JSON.stringify({ transaction: w.depositSignedByB, token: 'IO' }), expect: refused(400, 'CHAIN_DEPOSIT_WRONG_SOURCE') },
    { category: 'forged/replayed', name: 'deposit replayed', method: 'POST', path: '/v1/wallet/deposits', auth: A, body: JSON.stringify({ transaction: w.depositReplayed, token: 'IO' }), expect: refused(409, 'CHAIN_DEPOSIT_REPLAY') },
    { category: 'forged/replayed', name: "A's credited deposit replayed by B", method: 'POST', path: '/v1/wallet/deposits', auth: bearer(w.keyB), body: JSON.stringify({ transaction: w.depositReplayed, token: 'IO' }), expect: refused(400, 'CHAIN_DEPOSIT_WRONG_SOURCE') },

    // ---- methods nobody declared ----
    ...(['OPTIONS', 'DELETE', 'PUT', 'PATCH'] as const).map((method): ApiCase => ({ category: 'undeclared methods', name: `${method} /v1/clusters/{id}`, method, path: `/v1/clusters/${w.leaseB}`, auth: A, expect: refused(405, 'METHOD_NOT_ALLOWED') })),
  ];
  return cases;
}
