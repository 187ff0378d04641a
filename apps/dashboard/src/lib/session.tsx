import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import type { BrowserKeypair } from './wallet-crypto.ts';

/**
 * Who is signed in: the API key and its wallet (kept in localStorage so a reload stays signed in)
 * and, when the user chose a keypair file, the key itself (memory only: never stored).
 */
export interface Session {
  apiKey: string | null;
  wallet: string | null;
  keypair: BrowserKeypair | null;
  signIn: (apiKey: string, wallet: string, keypair: BrowserKeypair | null) => void;
  setKeypair: (keypair: BrowserKeypair) => void;
  signOut: () => void;
}

const KEY = 'idlegrid.session';
const SessionContext = createContext<Session | null>(null);

function stored(): { apiKey: string; wallet: string } | null {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? 'null') as { apiKey?: unknown; wallet?: unknown } | null;
    return v && typeof v.apiKey === 'string' && typeof v.wallet === 'string' ? { apiKey: v.apiKey, wallet: v.wallet } : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [auth, setAuth] = useState(stored);
  const [keypair, setKeypairState] = useState<BrowserKeypair | null>(null);
  const signIn = useCallback((apiKey: string, wallet: string, kp: BrowserKeypair | null) => {
    localStorage.setItem(KEY, JSON.stringify({ apiKey, wallet }));
    setAuth({ apiKey, wallet });
    setKeypairState(kp);
  }, []);
  const signOut = useCallback(() => {
    localStorage.removeItem(KEY);
    setAuth(null);
    setKeypairState(null);
  }, []);
  const value = useMemo<Session>(
    () => ({ apiKey: auth?.apiKey ?? null, wallet: auth?.wallet ?? null, keypair, signIn, signOut, setKeypair: setKeypairState }),
    [auth, keypair, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
