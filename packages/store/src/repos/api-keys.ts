import { sql, type Selectable } from 'kysely';
import type { Address, ApiKeyId } from '@idlegrid/domain';
import { assertInteger, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import type { RepoContext } from '../repo-context.ts';
import type { ApiKeysTable } from '../schema.ts';

export interface ApiKeyRecord {
  id: ApiKeyId;
  wallet: Address;
  /** A hash of the secret key; the secret itself is never stored. */
  keyHash: string;
  label: string | null;
  createdAtMs: number;
  lastUsedAtMs: number | null;
  revokedAtMs: number | null;
}

export interface NewApiKey {
  id: ApiKeyId;
  wallet: Address;
  keyHash: string;
  label?: string;
  createdAtMs: number;
}

export interface ApiKeysRepo {
  /** Fails with a conflict STORE_ERROR (see isStoreConflict) if the id or hash exists. */
  create(input: NewApiKey): Promise<ApiKeyRecord>;
  /** The key with this hash, or null when there is none or it was revoked. */
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** Records a use; lastUsedAt only moves forward. False if the key does not exist. */
  touch(id: ApiKeyId, atMs: number): Promise<boolean>;
  /** All keys of a wallet, revoked ones included, oldest first. */
  listByWallet(wallet: Address): Promise<ApiKeyRecord[]>;
  /** Revokes the key; false if it does not exist or was already revoked. */
  revoke(id: ApiKeyId, atMs: number): Promise<boolean>;
}

export function apiKeysRepo(ctx: RepoContext): ApiKeysRepo {
  const { db } = ctx;
  return guardRepo('apiKeys', {
    async create(input) {
      const row = await db
        .insertInto('api_keys')
        .values({
          id: input.id,
          wallet: input.wallet,
          key_hash: input.keyHash,
          label: input.label ?? null,
          created_at_ms: assertInteger('createdAtMs', input.createdAtMs),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toApiKeyRecord(row);
    },

    async findByHash(keyHash) {
      const row = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('key_hash', '=', keyHash)
        .where('revoked_at_ms', 'is', null)
        .executeTakeFirst();
      return row === undefined ? null : toApiKeyRecord(row);
    },

    async touch(id, atMs) {
      const at = assertInteger('atMs', atMs);
      const result = await db
        .updateTable('api_keys')
        .set({
          last_used_at_ms: sql<bigint>`CASE WHEN last_used_at_ms IS NULL OR last_used_at_ms < CAST(${at} AS bigint)
            THEN CAST(${at} AS bigint) ELSE last_used_at_ms END`,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async listByWallet(wallet) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('wallet', '=', wallet)
        .orderBy('created_at_ms')
        .orderBy('id')
        .execute();
      return rows.map(toApiKeyRecord);
    },

    async revoke(id, atMs) {
      const result = await db
        .updateTable('api_keys')
        .set({ revoked_at_ms: assertInteger('atMs', atMs) })
        .where('id', '=', id)
        .where('revoked_at_ms', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  });
}

function toApiKeyRecord(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id as ApiKeyId,
    wallet: row.wallet as Address,
    keyHash: row.key_hash,
    label: row.label,
    createdAtMs: toNumber(row.created_at_ms),
    lastUsedAtMs: toNumberOrNull(row.last_used_at_ms),
    revokedAtMs: toNumberOrNull(row.revoked_at_ms),
  };
}
