import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { base58Encode, IdlegridError, newApiKeyId, type Address, type ApiKeyId, type Clock, type RandomSource } from '@idlegrid/domain';
import {
  authChallengeQuerySchema, authChallengeResponseSchema, createApiKeyRequestSchema, createApiKeyResponseSchema,
  loginMessage, verifyBytes,
} from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import type { ApiRouter } from '../router.ts';

const API_KEY = /^igk_[1-9A-HJ-NP-Za-km-z]{30,50}$/;

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** Resolves an `Authorization: Bearer <api key>` header to its wallet, or throws UNAUTHORIZED. */
export async function walletForAuthorization(store: Store, clock: Clock, header: string | undefined): Promise<{ wallet: Address; keyId: ApiKeyId }> {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) throw new IdlegridError('UNAUTHORIZED', { reason: 'missing Authorization: Bearer <api key> header' });
  if (!API_KEY.test(match[1])) throw new IdlegridError('UNAUTHORIZED', { reason: 'malformed API key' });
  const key = await store.apiKeys.findByHash(hashApiKey(match[1]));
  if (!key || key.revokedAtMs !== null) throw new IdlegridError('UNAUTHORIZED', { reason: 'unknown or revoked API key' });
  await store.apiKeys.touch(key.id, clock.now());
  return { wallet: key.wallet, keyId: key.id };
}

/** Checks `Authorization: Bearer <api key>` and records the wallet on the context. */
export function apiKeyAuthenticator(store: Store, clock: Clock) {
  return async (c: Context<AppEnv>): Promise<void> => {
    const { wallet, keyId } = await walletForAuthorization(store, clock, c.req.header('authorization'));
    c.set('wallet', wallet);
    c.set('apiKeyId', keyId);
  };
}

export function addAuthRoutes(router: ApiRouter, store: Store, clock: Clock, random: RandomSource, challengeTtlSeconds: number): void {
  router.add(
    {
      method: 'get',
      path: '/v1/auth/challenge',
      summary: 'A single-use login challenge for a wallet; sign `message` with the wallet key',
      tag: 'auth',
      auth: false,
      query: authChallengeQuerySchema,
      response: authChallengeResponseSchema,
    },
    async ({ query }) => {
      const nonce = randomBytes(24).toString('base64url');
      const expiresAt = clock.now() + challengeTtlSeconds * 1000;
      await store.authChallenges.purgeExpired(clock.now());
      await store.authChallenges.create({ nonce, wallet: query.wallet, expiresAtMs: expiresAt });
      return { nonce, wallet: query.wallet, expiresAt, message: loginMessage({ wallet: query.wallet, nonce, expiresAt }) };
    },
  );

  router.add(
    {
      method: 'post',
      path: '/v1/auth/keys',
      summary: 'Exchange a signed challenge for an API key (shown once)',
      tag: 'auth',
      auth: false,
      body: createApiKeyRequestSchema,
      response: createApiKeyResponseSchema,
      status: 201,
    },
    async ({ body }) => {
      const challenge = await store.authChallenges.consume(body.nonce, clock.now());
      if (!challenge || challenge.wallet !== body.wallet) throw new IdlegridError('CHALLENGE_UNKNOWN', { nonce: body.nonce });
      const message = loginMessage({ wallet: body.wallet, nonce: body.nonce, expiresAt: challenge.expiresAtMs });
      if (!verifyBytes(body.wallet, message, body.signature)) throw new IdlegridError('BAD_SIGNATURE', { signer: body.wallet });
      const apiKey = `igk_${base58Encode(randomBytes(32))}`;
      const keyId: ApiKeyId = newApiKeyId(random);
      await store.apiKeys.create({
        id: keyId,
        wallet: body.wallet,
        keyHash: hashApiKey(apiKey),
        ...(body.label ? { label: body.label } : {}),
        createdAtMs: clock.now(),
      });
      return { apiKey, keyId, wallet: body.wallet };
    },
  );

  router.add(
    {
      method: 'get',
      path: '/v1/me',
      summary: 'The wallet and key behind the API key in use',
      tag: 'auth',
      auth: true,
      response: z.object({ wallet: z.string(), keyId: z.string() }),
    },
    ({ c }) => ({ wallet: c.get('wallet'), keyId: c.get('apiKeyId') }),
  );
}
