import { buildDepositTransfer } from '@idlegrid/chain';
import type { Address } from '@idlegrid/domain';
import type { ChainInfoResponse, CreateDepositResponse, Keypair } from '@idlegrid/protocol';
import type { CloudClient } from './cloud-client.ts';

/**
 * Moves `amount` base units of IO or USDC from the wallet into the protocol's escrow: the wallet
 * signs an SPL transfer here, the cloud checks, relays and credits it.
 */
export async function depositToEscrow(client: CloudClient, keypair: Keypair, token: 'IO' | 'USDC', amount: bigint): Promise<CreateDepositResponse> {
  const chain = await client.get<ChainInfoResponse>('/v1/chain');
  const transaction = await buildDepositTransfer(keypair, {
    mint: chain.mints[token] as Address,
    escrow: chain.escrow[token] as Address,
    amount,
    lifetime: { blockhash: chain.recentBlockhash, lastValidBlockHeight: BigInt(chain.lastValidBlockHeight) },
  });
  return client.post<CreateDepositResponse>('/v1/wallet/deposits', { transaction, token }, true);
}
