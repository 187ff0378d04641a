import { formatDecimal, IdlegridError, parseGpuModel, toDeviceId } from '@idlegrid/domain';
import { deviceDetailSchema, deviceIdParamSchema, devicesQuerySchema, devicesResponseSchema } from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import type { DeviceRegistry } from '../../live/device-registry.ts';
import { verificationStatus } from '../../verification/verification-view.ts';
import { storedDeviceView } from '../device-view.ts';
import type { ApiRouter } from '../router.ts';

export function addDeviceRoutes(router: ApiRouter, store: Store, registry: DeviceRegistry): void {
  router.add(
    {
      method: 'get',
      path: '/v1/devices',
      summary: 'Devices known to this network (online and offline), paginated by id',
      tag: 'devices',
      auth: false,
      query: devicesQuerySchema,
      response: devicesResponseSchema,
    },
    async ({ query }) => {
      const rows = await store.devices.list({
        ...(query.status ? { status: query.status } : {}),
        ...(query.gpu ? { gpuModel: parseGpuModel(query.gpu) } : {}),
        ...(query.region ? { region: query.region } : {}),
        limit: query.limit,
        ...(query.cursor ? { afterId: toDeviceId(query.cursor) } : {}),
      });
      const devices = rows.map((r) => storedDeviceView(r, registry.get(r.id)));
      const last = rows.at(-1);
      return { devices, nextCursor: rows.length === query.limit && last ? last.id : null };
    },
  );

  router.add(
    {
      method: 'get',
      path: '/v1/devices/{id}',
      summary: 'One device: hardware, tier, status, last heartbeat, earnings and proof-of-GPU verification',
      tag: 'devices',
      auth: false,
      params: deviceIdParamSchema,
      response: deviceDetailSchema,
    },
    async ({ params }) => {
      const id = toDeviceId(params.id);
      const record = await store.devices.get(id);
      if (!record) throw new IdlegridError('NOT_FOUND', { resource: 'device', id });
      const e = await store.settlement.earningsOf(id);
      const live = registry.get(id);
      return {
        ...storedDeviceView(record, live),
        verification: await verificationStatus(store, id, live?.verified ?? record.verified),
        earnings: { gpuSeconds: e.gpuSeconds, grossIo: formatDecimal(e.grossIo), feeIo: formatDecimal(e.feeIo), paidIo: formatDecimal(e.paidIo), pendingIo: formatDecimal(e.pendingIo) },
      };
    },
  );
}
