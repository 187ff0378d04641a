import { generateKeypair, signBytes, type Keypair } from '@idlegrid/protocol';
import type { CloudApp } from '../app.ts';

/** A JSON response body as the API tests read it (errors have `error.code`). */
export type ApiBody = Record<string, unknown> & { error: { code: string; message: string } };

export interface ApiResult {
  status: number;
  body: ApiBody;
}

export type ApiCall = (method: string, path: string, o?: { body?: unknown; key?: string }) => Promise<ApiResult>;

/** Calls the in-process app with a JSON body and an optional API key; an empty body reads as `{}`. */
export function apiCaller(cloud: () => CloudApp): ApiCall {
  return async (method, path, o = {}) => {
    const res = await cloud().app.request(path, {
      method,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      headers: { 'content-type': 'application/json', ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) },
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as ApiBody };
  };
}

/** A new wallet signs the server's login challenge and gets an API key (throws unless it was issued). */
export async function loginWallet(call: ApiCall): Promise<{ key: string; wallet: Keypair }> {
  const wallet = generateKeypair();
  const challenge = await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`);
  const issued = await call('POST', '/v1/auth/keys', {
    body: { wallet: wallet.address, nonce: challenge.body['nonce'], signature: signBytes(wallet, String(challenge.body['message'])) },
  });
  if (issued.status !== 201) throw new Error(`login failed: ${issued.status} ${JSON.stringify(issued.body)}`);
  return { key: String(issued.body['apiKey']), wallet };
}
