import { sql, type Selectable } from 'kysely';
import type { Address, DeviceId, GpuModel, MicroUsd, RegionId, Tier } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { decodeJson, decodeJsonOrNull, encodeJson, type JsonValue } from '../json.ts';
import { withRawSqlite, type RepoContext } from '../repo-context.ts';
import type { DevicesTable } from '../schema.ts';

export type DeviceStatus = 'online' | 'offline';

/** A Vivaldi network coordinate: 2-D position plus height, in milliseconds. */
export interface NetworkCoordinate {
  x: number;
  y: number;
  h: number;
}

export interface DeviceRecord {
  id: DeviceId;
  hardware: JsonValue;
  gpuModel: GpuModel;
  /** GPU slots the device offers. */
  gpuCount: number;
  region: RegionId;
  pricePerGpuHour: MicroUsd;
  payout: Address;
  agentVersion: string;
  status: DeviceStatus;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Start of the current connection (or of the last one when offline). */
  connectedAtMs: number | null;
  /** When the device was last marked offline; null if never. */
  disconnectedAtMs: number | null;
  /** Milliseconds online over all finished connections (the current one is not included). */
  onlineMsTotal: number;
  coordinate: NetworkCoordinate | null;
  /** The load from the last heartbeat that carried one. */
  load: JsonValue | null;
  verified: boolean;
  tier: Tier;
  /** 0–1000. */
  reputation: number;
}

/** What a hello says about a device: the fields of its record the agent declares. */
export type DeviceHello = Pick<DeviceRecord, 'id' | 'hardware' | 'gpuModel' | 'gpuCount' | 'region' | 'pricePerGpuHour' | 'payout' | 'agentVersion'> & {
  nowMs: number;
};

export interface DeviceSeen {
  id: DeviceId;
  lastSeenMs: number;
  coordinate?: NetworkCoordinate;
  load?: JsonValue;
}

export interface DeviceFilter {
  status?: DeviceStatus;
  gpuModel?: GpuModel;
  region?: RegionId;
  payout?: Address;
}

export interface DeviceListOptions extends DeviceFilter {
  limit: number;
  /** Keyset pagination: only ids strictly after this one (ids sort bytewise). */
  afterId?: DeviceId;
}

export interface DeviceStanding {
  verified?: boolean;
  tier?: Tier;
  reputation?: number;
}

export interface DevicesRepo {
  /**
   * Inserts the device or updates it from a new hello: status online, lastSeen and
   * connectedAt = nowMs; firstSeen only on insert. If it was still online (a reconnect
   * without a close), the old connection's time up to its lastSeen is added to
   * onlineMsTotal. A changed gpuModel or gpuCount clears `verified`.
   */
  upsertOnHello(input: DeviceHello): Promise<DeviceRecord>;
  /**
   * The heartbeat hot path, all rows at once: on PostgreSQL one UPDATE … FROM unnest(…)
   * statement, on SQLite one prepared UPDATE by primary key run per row in one transaction.
   * lastSeen only moves forward; coordinate and load are kept when a row omits them.
   * Unknown ids are ignored. Returns how many devices were updated.
   */
  markSeenBatch(rows: readonly DeviceSeen[]): Promise<number>;
  /**
   * Marks an online device offline and adds (atMs − connectedAt) to onlineMsTotal: pass
   * the last time the device is known to have been alive. False if it was not online.
   */
  markOffline(id: DeviceId, atMs: number): Promise<boolean>;
  /**
   * Marks every online device offline (on control-plane start). Uptime is credited up to
   * each device's lastSeen, since the time of a crash is unknown. Returns the count.
   */
  markAllOffline(atMs: number): Promise<number>;
  /** Sets verification, tier and reputation (what verification and reputation compute). */
  updateStanding(id: DeviceId, standing: DeviceStanding): Promise<boolean>;
  get(id: DeviceId): Promise<DeviceRecord | null>;
  /** The devices among `ids` that exist (any order; unknown ids are left out). */
  getMany(ids: readonly DeviceId[]): Promise<DeviceRecord[]>;
  /** Ordered by id; pass the last id of a page as `afterId` for the next one. */
  list(options: DeviceListOptions): Promise<DeviceRecord[]>;
  count(filter: DeviceFilter): Promise<number>;
}

/** SQLite: one prepared UPDATE by primary key, run per row in one transaction (µs per row). */
const SQLITE_SEEN = `UPDATE devices SET
  last_seen_ms = max(last_seen_ms, @lastSeenMs),
  coord_x = COALESCE(@x, coord_x), coord_y = COALESCE(@y, coord_y), coord_h = COALESCE(@h, coord_h),
  load = COALESCE(@load, load)
WHERE id = @id`;

export function devicesRepo(ctx: RepoContext): DevicesRepo {
  const { db } = ctx;

  function filtered(filter: DeviceFilter) {
    let query = db.selectFrom('devices');
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.gpuModel !== undefined) query = query.where('gpu_model', '=', filter.gpuModel);
    if (filter.region !== undefined) query = query.where('region', '=', filter.region);
    if (filter.payout !== undefined) query = query.where('payout', '=', filter.payout);
    return query;
  }

  function updateSeenSqlite(rows: readonly DeviceSeen[]): Promise<number> {
    const params = rows.map((row) => ({
      id: row.id,
      lastSeenMs: assertInteger('lastSeenMs', row.lastSeenMs),
      x: row.coordinate?.x ?? null,
      y: row.coordinate?.y ?? null,
      h: row.coordinate?.h ?? null,
      load: row.load === undefined ? null : encodeJson(row.load),
    }));
    return withRawSqlite(ctx, (raw) => {
      const statement = raw.prepare(SQLITE_SEEN);
      let updated = 0;
      for (const p of params) updated += Number(statement.run(p).changes);
      return updated;
    });
  }

  /** PostgreSQL: one UPDATE … FROM unnest(arrays), six parameters whatever the batch size. */
  async function updateSeenPostgres(rows: readonly DeviceSeen[]): Promise<number> {
    const column = <T>(pick: (row: DeviceSeen) => T): T[] => rows.map(pick);
    const result = await sql`
      UPDATE devices SET
        last_seen_ms = GREATEST(devices.last_seen_ms, v.last_seen_ms),
        coord_x = COALESCE(v.x, devices.coord_x),
        coord_y = COALESCE(v.y, devices.coord_y),
        coord_h = COALESCE(v.h, devices.coord_h),
        load = COALESCE(v.load, devices.load)
      FROM unnest(
        ${column((r) => r.id)}::text[],
        ${column((r) => assertInteger('lastSeenMs', r.lastSeenMs))}::bigint[],
        ${column((r) => r.coordinate?.x ?? null)}::float8[],
        ${column((r) => r.coordinate?.y ?? null)}::float8[],
        ${column((r) => r.coordinate?.h ?? null)}::float8[],
        ${column((r) => (r.load === undefined ? null : encodeJson(r.load)))}::text[]
      ) AS v(id, last_seen_ms, x, y, h, load)
      WHERE devices.id = v.id`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  }

  async function get(id: DeviceId): Promise<DeviceRecord | null> {
    const row = await db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toDeviceRecord(row);
  }

  return guardRepo('devices', {
    async getMany(ids) {
      const out: DeviceRecord[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        if (slice.length === 0) continue;
        const rows = await db.selectFrom('devices').selectAll().where('id', 'in', slice).execute();
        for (const row of rows) out.push(toDeviceRecord(row));
      }
      return out;
    },

    async upsertOnHello(input) {
      const now = assertInteger('nowMs', input.nowMs);
      const row = await db
        .insertInto('devices')
        .values({
          id: input.id,
          hardware: encodeJson(input.hardware),
          gpu_model: input.gpuModel,
          gpu_count: assertInteger('gpuCount', input.gpuCount),
          region: input.region,
          price_per_gpu_hour: input.pricePerGpuHour,
          payout: input.payout,
          agent_version: input.agentVersion,
          status: 'online',
          first_seen_ms: now,
          last_seen_ms: now,
          connected_at_ms: now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            hardware: eb.ref('excluded.hardware'),
            gpu_model: eb.ref('excluded.gpu_model'),
            gpu_count: eb.ref('excluded.gpu_count'),
            region: eb.ref('excluded.region'),
            price_per_gpu_hour: eb.ref('excluded.price_per_gpu_hour'),
            payout: eb.ref('excluded.payout'),
            agent_version: eb.ref('excluded.agent_version'),
            status: 'online',
            last_seen_ms: now,
            connected_at_ms: now,
            online_ms_total: sql<bigint>`devices.online_ms_total + CASE
              WHEN devices.status = 'online' AND devices.connected_at_ms IS NOT NULL
                AND devices.last_seen_ms > devices.connected_at_ms
              THEN devices.last_seen_ms - devices.connected_at_ms ELSE 0 END`,
            verified: sql<number>`CASE WHEN devices.gpu_model = excluded.gpu_model
              AND devices.gpu_count = excluded.gpu_count THEN devices.verified ELSE 0 END`,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDeviceRecord(row);
    },

    async markSeenBatch(rows) {
      if (rows.length === 0) return 0;
      // One row per device (the latest), so that UPDATE … FROM matches each device once.
      const latest = new Map<DeviceId, DeviceSeen>();
      for (const row of rows) {
        const prior = latest.get(row.id);
        if (prior === undefined || row.lastSeenMs >= prior.lastSeenMs) {
          latest.set(row.id, {
            ...row,
            coordinate: row.coordinate ?? prior?.coordinate,
            load: row.load ?? prior?.load,
          });
        }
      }
      const unique = [...latest.values()];
      return ctx.kind === 'sqlite' ? updateSeenSqlite(unique) : updateSeenPostgres(unique);
    },

    async markOffline(id, atMs) {
      const at = assertInteger('atMs', atMs);
      const result = await db
        .updateTable('devices')
        .set({
          status: 'offline',
          disconnected_at_ms: at,
          online_ms_total: sql<bigint>`online_ms_total + CASE
            WHEN connected_at_ms IS NOT NULL AND CAST(${at} AS bigint) > connected_at_ms
            THEN CAST(${at} AS bigint) - connected_at_ms ELSE 0 END`,
        })
        .where('id', '=', id)
        .where('status', '=', 'online')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async markAllOffline(atMs) {
      const result = await db
        .updateTable('devices')
        .set({
          status: 'offline',
          disconnected_at_ms: assertInteger('atMs', atMs),
          online_ms_total: sql<bigint>`online_ms_total + CASE
            WHEN connected_at_ms IS NOT NULL AND last_seen_ms > connected_at_ms
            THEN last_seen_ms - connected_at_ms ELSE 0 END`,
        })
        .where('status', '=', 'online')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async updateStanding(id, standing) {
      const changes: { verified?: number; tier?: Tier; reputation?: number } = {};
      if (standing.verified !== undefined) changes.verified = standing.verified ? 1 : 0;
      if (standing.tier !== undefined) changes.tier = standing.tier;
      if (standing.reputation !== undefined) changes.reputation = assertInteger('reputation', standing.reputation);
      if (Object.keys(changes).length === 0) return (await get(id)) !== null;
      const result = await db.updateTable('devices').set(changes).where('id', '=', id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    get,

    async list(options) {
      let query = filtered(options).selectAll();
      if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
      const rows = await query.orderBy('id').limit(assertInteger('limit', options.limit)).execute();
      return rows.map(toDeviceRecord);
    },

    async count(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll<string | number | bigint>().as('n'))
        .executeTakeFirstOrThrow();
      return toNumber(row.n);
    },
  });
}

function toDeviceRecord(row: Selectable<DevicesTable>): DeviceRecord {
  const hasCoordinate = row.coord_x !== null && row.coord_y !== null && row.coord_h !== null;
  return {
    id: row.id as DeviceId,
    hardware: decodeJson(row.hardware),
    gpuModel: row.gpu_model as GpuModel,
    gpuCount: toNumber(row.gpu_count),
    region: row.region as RegionId,
    pricePerGpuHour: toBigint(row.price_per_gpu_hour) as MicroUsd,
    payout: row.payout as Address,
    agentVersion: row.agent_version,
    status: row.status as DeviceStatus,
    firstSeenMs: toNumber(row.first_seen_ms),
    lastSeenMs: toNumber(row.last_seen_ms),
    connectedAtMs: toNumberOrNull(row.connected_at_ms),
    disconnectedAtMs: toNumberOrNull(row.disconnected_at_ms),
    onlineMsTotal: toNumber(row.online_ms_total),
    coordinate: hasCoordinate ? { x: row.coord_x ?? 0, y: row.coord_y ?? 0, h: row.coord_h ?? 0 } : null,
    load: decodeJsonOrNull(row.load),
    verified: toNumber(row.verified) !== 0,
    tier: row.tier as Tier,
    reputation: toNumber(row.reputation),
  };
}
