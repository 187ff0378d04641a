import type { Selectable } from 'kysely';
import type { Address } from '@idlegrid/domain';
import { assertInteger, toNumber } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import type { RepoContext } from '../repo-context.ts';
import type { AuthChallengesTable } from '../schema.ts';

export interface AuthChallengeRecord {
  nonce: string;
  wallet: Address;
  expiresAtMs: number;
}

export interface AuthChallengesRepo {
  /** Fails with a conflict STORE_ERROR (see isStoreConflict) if the nonce exists. */
  create(input: AuthChallengeRecord): Promise<AuthChallengeRecord>;
  /**
   * Deletes the challenge and returns it if it existed and `nowMs < expiresAtMs`, else
   * null. One DELETE … RETURNING: of concurrent consumers exactly one gets it.
   */
  consume(nonce: string, nowMs: number): Promise<AuthChallengeRecord | null>;
  /** Deletes every challenge with expiresAtMs <= nowMs; returns how many. */
  purgeExpired(nowMs: number): Promise<number>;
}

export function authChallengesRepo(ctx: RepoContext): AuthChallengesRepo {
  const { db } = ctx;
  return guardRepo('authChallenges', {
    async create(input) {
      const row = await db
        .insertInto('auth_challenges')
        .values({
          nonce: input.nonce,
          wallet: input.wallet,
          expires_at_ms: assertInteger('expiresAtMs', input.expiresAtMs),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toChallengeRecord(row);
    },

    async consume(nonce, nowMs) {
      const now = assertInteger('nowMs', nowMs);
      const row = await db.deleteFrom('auth_challenges').where('nonce', '=', nonce).returningAll().executeTakeFirst();
      if (row === undefined) return null;
      const record = toChallengeRecord(row);
      return now < record.expiresAtMs ? record : null;
    },

    async purgeExpired(nowMs) {
      const result = await db
        .deleteFrom('auth_challenges')
        .where('expires_at_ms', '<=', assertInteger('nowMs', nowMs))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  });
}

function toChallengeRecord(row: Selectable<AuthChallengesTable>): AuthChallengeRecord {
  return { nonce: row.nonce, wallet: row.wallet as Address, expiresAtMs: toNumber(row.expires_at_ms) };
}
