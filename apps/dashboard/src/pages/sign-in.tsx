import { useState, type FormEvent } from 'react';
import { request } from '../lib/api.ts';
import { navigate } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { base58Encode } from '../lib/base58.ts';
import { parseKeypairFile, sign } from '../lib/wallet-crypto.ts';
import { ErrorNote } from '../components/ui.tsx';

interface Challenge {
  nonce: string;
  message: string;
}

/** Sign in with a wallet keypair file (signed challenge → API key) or an API key. */
export function SignInPage() {
  const session = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [apiKey, setApiKey] = useState('');

  const withKeypair = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const keypair = await parseKeypairFile(await file.text());
      const challenge = await request<Challenge>('GET', `/v1/auth/challenge?wallet=${keypair.address}`);
      const signature = base58Encode(await sign(keypair, new TextEncoder().encode(challenge.message)));
      const issued = await request<{ apiKey: string; wallet: string }>('POST', '/v1/auth/keys', {
        body: { wallet: keypair.address, nonce: challenge.nonce, signature, label: 'dashboard' },
      });
      session.signIn(issued.apiKey, issued.wallet, keypair);
      navigate('/wallet');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const withApiKey = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await request<{ wallet: string }>('GET', '/v1/me', { key: apiKey.trim() });
      session.signIn(apiKey.trim(), me.wallet, null);
      navigate('/wallet');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <p className="lead">Rent Ray clusters on idle GPUs and pay per second from escrow on Solana.</p>
      <div className="card">
        <h2>With your wallet</h2>
        <p className="muted">
          Choose your Solana keypair file (for the CLI's wallet: <code>~/.idlegrid/wallet.json</code>). It is read in this tab only to
          sign a login challenge and your deposits; it is never uploaded or stored.
        </p>
        <label className="file">
          <span>Wallet keypair file</span>
          <input
            type="file"
            accept=".json,application/json"
            disabled={busy}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void withKeypair(f);
            }}
          />
        </label>
      </div>
      <form className="card" onSubmit={(e) => void withApiKey(e)}>
        <h2>With an API key</h2>
        <label>
          API key
          <input value={apiKey} onChange={(e) => setApiKey(e.target.value)} placeholder="igk_…" autoComplete="off" spellCheck={false} />
        </label>
        <button type="submit" disabled={busy || !apiKey.trim()}>
          Sign in with API key
        </button>
      </form>
      {busy ? <p role="status">Signing in…</p> : null}
      <ErrorNote error={error} />
    </section>
  );
}
