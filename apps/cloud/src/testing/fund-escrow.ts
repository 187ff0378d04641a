import { randomBytes } from 'node:crypto';
import type { Address } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';

/**
 * Credits a buyer's escrow balance in the store only (no chain transaction behind it): for tests
 * of booking and lease logic that never settle. Settlement tests deposit through the ledger instead.
 */
export async function fundEscrowForTest(store: Store, wallet: Address, io: bigint): Promise<void> {
  await store.wallets.credit({ signature: `test-funding-${randomBytes(8).toString('hex')}`, wallet, token: 'IO', amountPaid: io, ioCredited: io, fee: 0n, atMs: 0 });
}
