import { useState, type FormEvent } from 'react';
import type { CreateDepositResponse, UnsignedDepositResponse, WalletResponse } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { money, when } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';
import { useAsync } from '../lib/use-async.ts';
import { base64ToBytes, bytesToBase64, parseKeypairFile, sign } from '../lib/wallet-crypto.ts';
import { Empty, ErrorNote, Loading, Mono, Stat } from '../components/ui.tsx';

/** Balances on chain and in escrow, the embedded network's airdrop, and deposits into escrow. */
export function WalletPage() {
  const session = useSession();
  const wallet = useAsync((signal) => request<WalletResponse>('GET', '/v1/wallet', { key: session.apiKey, signal }), [session.apiKey], 5000);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'airdrop' | 'deposit' | null>(null);
  const [token, setToken] = useState<'IO' | 'USDC'>('USDC');
  const [amount, setAmount] = useState('50');

  const airdrop = async () => {
    setBusy('airdrop');
    setError(null);
    setNotice(null);
    try {
      await request<WalletResponse>('POST', '/v1/wallet/airdrop', { key: session.apiKey, body: {} });
      setNotice('Airdrop received: SOL for fees, IO and USDC to deposit.');
      wallet.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const deposit = async (e: FormEvent) => {
    e.preventDefault();
    if (!session.keypair) return;
    setBusy('deposit');
    setError(null);
    setNotice(null);
    try {
      const unsigned = await request<UnsignedDepositResponse>('POST', '/v1/wallet/deposits/unsigned', { key: session.apiKey, body: { token, amount: amount.trim() } });
      const wire = base64ToBytes(unsigned.transaction);
      wire.set(await sign(session.keypair, wire.subarray(unsigned.messageOffset)), unsigned.signatureOffset);
      const done = await request<CreateDepositResponse>('POST', '/v1/wallet/deposits', { key: session.apiKey, body: { transaction: bytesToBase64(wire), token } });
      setNotice(`Deposited ${done.deposit.amountPaid} ${done.deposit.token}: ${done.deposit.ioCredited} IO credited to escrow (now ${done.escrow.io} IO).`);
      wallet.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const w = wallet.data;
  return (
    <section>
      <h1>Wallet</h1>
      {wallet.loading && !w ? <Loading what="balances" /> : null}
      <ErrorNote error={wallet.error} retry={wallet.reload} />
      {w ? (
        <>
          <div className="stats" aria-label="Balances">
            <Stat label="Escrow (spendable on clusters)" value={`${money(w.escrow.io)} IO`} hint="deposits land here; bookings reserve from it" />
            <Stat label="IO in wallet" value={money(w.balances.io)} />
            <Stat label="USDC in wallet" value={money(w.balances.usdc)} />
            <Stat label="SOL in wallet" value={money(w.balances.sol, 4)} hint="pays transaction fees" />
          </div>
          <p className="muted">
            Network: <strong>{w.network}</strong> · wallet <Mono value={w.wallet} />
          </p>
        </>
      ) : null}
      <div className="grid two">
        <div className="card">
          <h2>Airdrop</h2>
          <p className="muted">The embedded test network gives 1 SOL, 1,000 IO and 1,000 USDC to try things out.</p>
          <button type="button" onClick={() => void airdrop()} disabled={busy !== null || w?.network !== 'embedded'}>
            {busy === 'airdrop' ? 'Airdropping…' : 'Airdrop test tokens'}
          </button>
          {w && w.network !== 'embedded' ? <p className="muted">Only on the embedded network.</p> : null}
        </div>
        <form className="card" onSubmit={(e) => void deposit(e)}>
          <h2>Deposit into escrow</h2>
          <p className="muted">Your wallet signs an SPL transfer in this tab; USDC converts to IO at the reference price minus the fee.</p>
          {session.keypair ? null : (
            <label className="file">
              <span>Wallet keypair file (needed to sign)</span>
              <input
                type="file"
                accept=".json,application/json"
                onChange={(ev) => {
                  const f = ev.target.files?.[0];
                  if (f) void f.text().then(parseKeypairFile).then(
                    (kp) => (kp.address === session.wallet ? session.setKeypair(kp) : setError(new Error(`That keypair is ${kp.address}, not the signed-in wallet.`))),
                    setError,
                  );
                }}
              />
            </label>
          )}
          <div className="row">
            <label>
              Token
              <select value={token} onChange={(ev) => setToken(ev.target.value as 'IO' | 'USDC')}>
                <option value="USDC">USDC</option>
                <option value="IO">IO</option>
              </select>
            </label>
            <label>
              Amount
              <input value={amount} onChange={(ev) => setAmount(ev.target.value)} inputMode="decimal" pattern="[0-9]+(\.[0-9]{1,6})?" required />
            </label>
          </div>
          <button type="submit" disabled={busy !== null || !session.keypair}>
            {busy === 'deposit' ? 'Signing and sending…' : 'Deposit'}
          </button>
        </form>
      </div>
      {notice ? (
        <div className="note ok" role="status">
          {notice}
        </div>
      ) : null}
      <ErrorNote error={error} />
      <h2>Deposits</h2>
      {w && w.deposits.length === 0 ? <Empty>No deposits yet. Airdrop test tokens, then deposit some into escrow.</Empty> : null}
      {w && w.deposits.length > 0 ? (
        <table>
          <caption className="sr-only">Your deposits</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Paid</th>
              <th scope="col">IO credited</th>
              <th scope="col">Fee (IO)</th>
              <th scope="col">Transaction</th>
            </tr>
          </thead>
          <tbody>
            {w.deposits.map((d) => (
              <tr key={d.signature}>
                <td>{when(d.at)}</td>
                <td>
                  {money(d.amountPaid)} {d.token}
                </td>
                <td>{money(d.ioCredited)}</td>
                <td>{money(d.fee)}</td>
                <td>
                  <Mono value={d.signature} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
