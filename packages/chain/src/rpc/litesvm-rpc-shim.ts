import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { manualClock, type Address } from '@idlegrid/domain';
import { EmbeddedBackend } from '../embedded/backend.ts';
import { decodeMemo } from '../programs.ts';
import { decodeTransaction, fromBase64, toBase64 } from '../wire.ts';

/**
 * A tiny Solana JSON-RPC server over LiteSVM, with just the methods the RPC backend calls (and
 * requestAirdrop). It exists to exercise the RPC backend's requests and response parsing in CI,
 * and to give several control-plane replicas on one machine a chain to share (`idlegrid chain
 * node`), where no validator can be installed. It is not a validator: state lives in memory, no
 * preflight simulation, no commitment levels (everything is final at once). Real-node runs use
 * IDLEGRID_TEST_RPC_URL.
 */
export async function startLiteSvmRpc(options: { port?: number; host?: string } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const chain = new EmbeddedBackend({ dataDir: null, clock: manualClock(1_750_000_000_000) });
  const byAddress = new Map<string, Array<{ signature: string; memo: string | null; slot: bigint }>>();
  const blockHeight = 1_000;

  const methods: Record<string, (params: unknown[]) => Promise<unknown>> = {
    getLatestBlockhash: async () => {
      const l = await chain.lifetime();
      return { context: { slot: 1 }, value: { blockhash: l.blockhash, lastValidBlockHeight: blockHeight + 150 } };
    },
    getBlockHeight: () => Promise.resolve(blockHeight),
    getBalance: async ([addr]) => ({ context: { slot: 1 }, value: Number((await chain.account(String(addr) as Address))?.lamports ?? 0n) }),
    isBlockhashValid: async ([hash]) => ({ context: { slot: 1 }, value: await chain.lifetimeValid({ blockhash: String(hash), lastValidBlockHeight: 0n }) }),
    getMinimumBalanceForRentExemption: async ([space]) => Number(await chain.rentExempt(Number(space))),
    requestAirdrop: async ([to, lamports]) => {
      await chain.airdropSol(String(to) as Address, BigInt(Number(lamports)));
      return '1111111111111111111111111111111111111111111111111111111111111111';
    },
    sendTransaction: async ([wireText]) => {
      const wire = fromBase64(String(wireText));
      const tx = decodeTransaction(wire);
      const outcome = await chain.submit({ signature: tx.signature, wire });
      if (!outcome.landed) throw Object.assign(new Error(`Transaction simulation failed: ${outcome.reason}`), { code: -32002 });
      const memo = tx.instructions.map(decodeMemo).filter((m): m is string => m !== null);
      for (const key of new Set(tx.accountKeys)) {
        const list = byAddress.get(key) ?? [];
        if (!list.some((e) => e.signature === tx.signature)) list.push({ signature: tx.signature, memo: memo.length ? memo.map((m) => `[${Buffer.byteLength(m)}] ${m}`).join('; ') : null, slot: outcome.slot });
        byAddress.set(key, list);
      }
      return tx.signature;
    },
    getSignatureStatuses: async ([sigs]) => ({
      context: { slot: 1 },
      value: await Promise.all((sigs as string[]).map(async (s) => {
        const st = await chain.status(s);
        return st ? { slot: Number(st.slot), confirmations: null, err: st.err === null ? null : { Custom: st.err }, status: st.err === null ? { Ok: null } : { Err: st.err }, confirmationStatus: 'finalized' } : null;
      })),
    }),
    getMultipleAccounts: async ([addrs]) => ({
      context: { slot: 1 },
      value: (await chain.accounts(addrs as Address[])).map((a) => (a ? { lamports: Number(a.lamports), owner: a.owner, data: [toBase64(a.data), 'base64'], executable: false, rentEpoch: 0, space: a.data.length } : null)),
    }),
    getTransaction: async ([sig]) => {
      const raw = await chain.rawTransaction(String(sig));
      if (!raw) return null;
      return { slot: Number(raw.slot), blockTime: raw.blockTime, version: 'legacy', meta: { err: raw.err === null ? null : { Custom: raw.err }, fee: 5000 }, transaction: [toBase64(raw.wire), 'base64'] };
    },
    getSignaturesForAddress: ([addr, config]) => {
      const list = [...(byAddress.get(String(addr)) ?? [])].reverse();
      const before = (config as { before?: string } | undefined)?.before;
      const start = before ? list.findIndex((e) => e.signature === before) + 1 : 0;
      const limit = (config as { limit?: number } | undefined)?.limit ?? 1000;
      return Promise.resolve(list.slice(start, start + limit).map((e) => ({ signature: e.signature, slot: Number(e.slot), err: null, memo: e.memo, blockTime: null, confirmationStatus: 'finalized' })));
    },
    getProgramAccounts: async ([, config]) => {
      const filters = (config as { filters?: Array<{ memcmp?: { bytes: string } }> }).filters ?? [];
      const mint = filters.find((f) => f.memcmp)?.memcmp?.bytes;
      const list = mint ? await chain.tokenAccountsOfMint(mint as Address) : [];
      const accounts = await chain.accounts(list.map((a) => a.address));
      return list.map((a, i) => ({ pubkey: a.address, account: { lamports: Number(accounts[i]?.lamports ?? 0n), owner: accounts[i]?.owner, data: [toBase64(accounts[i]?.data ?? new Uint8Array()), 'base64'], executable: false, rentEpoch: 0, space: 165 } }));
    },
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let body: { id?: unknown; method?: unknown; params?: unknown[] } = {};
        let reply: unknown;
        try {
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
          } catch {
            throw Object.assign(new Error('Parse error'), { code: -32700 });
          }
          const fn = typeof body.method === 'string' && Object.hasOwn(methods, body.method) ? methods[body.method] : undefined;
          if (!fn) throw Object.assign(new Error(`Method not found: ${String(body.method)}`), { code: -32601 });
          reply = { jsonrpc: '2.0', id: body.id ?? null, result: await fn(Array.isArray(body.params) ? body.params : []) };
        } catch (e) {
          reply = { jsonrpc: '2.0', id: body.id ?? null, error: { code: (e as { code?: number }).code ?? -32603, message: (e as Error).message } };
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply));
      })();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
