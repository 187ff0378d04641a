import { Link, usePath } from './lib/router.tsx';
import { SessionProvider, useSession } from './lib/session.tsx';
import { BookPage } from './pages/book.tsx';
import { ClusterPage } from './pages/cluster.tsx';
import { ClustersPage } from './pages/clusters.tsx';
import { ExplorerPage } from './pages/explorer.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { SupplierPage } from './pages/supplier.tsx';
import { WalletPage } from './pages/wallet.tsx';
import { shortId } from './lib/format.ts';

const NAV = [
  { to: '/book', label: 'Book a cluster', private: true },
  { to: '/clusters', label: 'My clusters', private: true },
  { to: '/wallet', label: 'Wallet', private: true },
  { to: '/supplier', label: 'Supply', private: false },
  { to: '/explorer', label: 'Explorer', private: false },
];

function Page({ path }: { path: string }) {
  const session = useSession();
  const pathname = path.split('?')[0] ?? '/';
  const cluster = /^\/clusters\/(lse_[A-Za-z0-9]+)$/.exec(pathname);
  if (pathname === '/explorer') return <ExplorerPage />;
  if (pathname === '/supplier') return <SupplierPage />;
  if (!session.apiKey || pathname === '/signin') return <SignInPage />;
  if (cluster?.[1]) return <ClusterPage id={cluster[1]} />;
  if (pathname === '/clusters') return <ClustersPage />;
  if (pathname === '/wallet') return <WalletPage />;
  return <BookPage />;
}

function Shell() {
  const path = usePath();
  const session = useSession();
  const pathname = path.split('?')[0] ?? '/';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand" aria-label="idlegrid home">
          <span className="logo" aria-hidden="true" />
          idlegrid
        </Link>
        <nav aria-label="Main">
          {NAV.filter((n) => !n.private || session.apiKey).map((n) => (
            <Link key={n.to} to={n.to} aria-current={pathname.startsWith(n.to) ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="who">
          {session.wallet ? (
            <>
              <span className="wallet-chip" title={session.wallet}>
                {shortId(session.wallet, 4)}
              </span>
              <button type="button" className="secondary small" onClick={session.signOut}>
                Sign out
              </button>
            </>
          ) : (
            <Link to="/signin" className="button small">
              Sign in
            </Link>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}
