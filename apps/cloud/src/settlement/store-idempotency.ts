import type { IdempotencyEntry, IdempotencyStore } from '@idlegrid/chain';
import type { Store } from '@idlegrid/store';

/** The ledger's idempotency entries in the control plane's database (durable before each send). */
export function storeIdempotency(store: Store): IdempotencyStore {
  return {
    async get(key) {
      const entry = await store.settlement.idempotencyGet(key);
      return entry === undefined ? undefined : (JSON.parse(entry) as IdempotencyEntry);
    },
    put: (key, entry) => store.settlement.idempotencyPut(key, JSON.stringify(entry)),
  };
}
