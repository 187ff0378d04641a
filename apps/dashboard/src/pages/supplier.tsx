import { useState } from 'react';
import type { DeviceView } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { duration, usd, when } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';
import { useAsync } from '../lib/use-async.ts';
import { Empty, ErrorNote, Loading, Mono, StateBadge } from '../components/ui.tsx';
import { DeviceDetails } from './supplier-device.tsx';
import { YourStakes } from './supplier-stakes.tsx';

/** Suppliers: devices with hardware, tier, uptime, stake, verification history and earnings per epoch. */
export function SupplierPage() {
  const session = useSession();
  const [mine, setMine] = useState(false);
  const devices = useAsync((signal) => request<{ devices: DeviceView[] }>('GET', '/v1/devices?limit=200', { signal }), [], 5000);
  const [open, setOpen] = useState<string | null>(null);
  const list = (devices.data?.devices ?? []).filter((d) => !mine || d.payout === session.wallet);
  return (
    <section>
      <h1>Supply</h1>
      <p className="lead">
        The devices of this network. A supplier runs <code>idlegrid worker start</code> and stakes for it with <code>idlegrid stake add</code>; buyers&apos; lease payments and each epoch&apos;s
        minted rewards go to the payout address. Open a device for its stake, rewards per epoch and proof-of-GPU history.
      </p>
      {session.wallet ? (
        <label className="check">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> Only devices paying out to my wallet
        </label>
      ) : null}
      {session.apiKey ? <YourStakes apiKey={session.apiKey} onOpen={setOpen} /> : null}
      {devices.loading && !devices.data ? <Loading what="devices" /> : null}
      <ErrorNote error={devices.error} retry={devices.reload} />
      {devices.data && list.length === 0 ? <Empty>{mine ? 'No device pays out to your wallet.' : 'No devices have joined this network yet.'}</Empty> : null}
      {list.length > 0 ? (
        <table>
          <caption className="sr-only">Devices</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Status</th>
              <th scope="col">Hardware</th>
              <th scope="col">Region</th>
              <th scope="col">Tier</th>
              <th scope="col">Verified</th>
              <th scope="col">Uptime</th>
              <th scope="col">$/GPU-h</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id} className={open === d.id ? 'hl' : ''}>
                <td>
                  <Mono value={d.id} />
                </td>
                <td>
                  <StateBadge state={d.status} />
                </td>
                <td>
                  {d.slots} × {d.gpuModel} · {d.freeSlots} free
                </td>
                <td>{d.region}</td>
                <td>{d.tier}</td>
                <td>{d.verified ? 'yes' : 'not yet'}</td>
                <td>{d.status === 'online' ? duration((Date.now() - d.firstSeenAt) / 1000) : `last seen ${when(d.lastSeenAt)}`}</td>
                <td>{usd(d.pricePerGpuHour)}</td>
                <td>
                  <button type="button" className="secondary small" onClick={() => setOpen(open === d.id ? null : d.id)} aria-expanded={open === d.id}>
                    {open === d.id ? 'Close' : 'Details'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? <DeviceDetails id={open} /> : null}
    </section>
  );
}
