import { IdlegridError } from '@idlegrid/domain';
import { loadOrCreateKeypair, signBytes } from '@idlegrid/protocol';
import { readHomeConfig, updateHomeConfig, walletPath } from './home.ts';

type Query = Record<string, string | string[] | number | undefined>;

/** A small client for the idlegrid HTTP API that turns error bodies into IdlegridErrors. */
export class CloudClient {
  constructor(
    readonly baseUrl: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async get<T>(path: string, query: Query = {}, auth = false): Promise<T> {
    return this.request<T>('GET', path, { query, auth });
  }

  async post<T>(path: string, body: unknown, auth = false): Promise<T> {
    return this.request<T>('POST', path, { body, auth });
  }

  async request<T>(method: string, path: string, o: { query?: Query; body?: unknown; auth?: boolean }): Promise<T> {
    const url = new URL(path, `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (o.auth) headers['authorization'] = `Bearer ${await this.apiKey()}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new IdlegridError('CLOUD_UNREACHABLE', { url: this.baseUrl, reason: cause?.code ?? cause?.message ?? String(e) });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new IdlegridError('CLOUD_ERROR', { status: res.status, code: err?.code ?? 'UNKNOWN', message: err?.message ?? text.slice(0, 200) });
    }
    return parsed as T;
  }

  /** The API key for this cloud; logs in with the wallet (signing a challenge) on first use. */
  async apiKey(): Promise<string> {
    const saved = (await readHomeConfig(this.env)).apiKeys[this.baseUrl];
    if (saved) return saved;
    const { keypair, created } = await loadOrCreateKeypair(walletPath(this.env));
    if (created) process.stderr.write(`Created a new wallet ${keypair.address} at ${walletPath(this.env)}\n`);
    const challenge = await this.get<{ nonce: string; message: string }>('/v1/auth/challenge', { wallet: keypair.address });
    const issued = await this.post<{ apiKey: string }>('/v1/auth/keys', {
      wallet: keypair.address,
      nonce: challenge.nonce,
      signature: signBytes(keypair, challenge.message),
      label: 'idlegrid-cli',
    });
    await updateHomeConfig(this.env, (c) => ({ ...c, apiKeys: { ...c.apiKeys, [this.baseUrl]: issued.apiKey } }));
    return issued.apiKey;
  }
}
