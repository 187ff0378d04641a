import { sql, type Selectable, type Updateable } from 'kysely';
import type { Address, DeviceId, GpuModel, LeaseId, MicroUsd } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { decodeJson, decodeJsonOrNull, encodeJson, type JsonValue } from '../json.ts';
import { withRawSqlite, type RepoContext } from '../repo-context.ts';
import type { LeaseNodesTable, LeasesTable } from '../schema.ts';

/** `requested → allocating → provisioning → ready ⇄ degraded → releasing → ended` (or `failed`). */
export type LeaseState = 'requested' | 'allocating' | 'provisioning' | 'ready' | 'degraded' | 'releasing' | 'ended' | 'failed';
/** Every lease state except the final ones (ended, failed). */
export const ACTIVE_LEASE_STATES: readonly LeaseState[] = Object.freeze([
  'requested', 'allocating', 'provisioning', 'ready', 'degraded', 'releasing',
] as const);

/** Releasing, ended or failed: the buyer can no longer use, extend or release the cluster again. */
export function isWindingDown(state: LeaseState): boolean {
  return state === 'releasing' || state === 'ended' || state === 'failed';
}

export type LeaseNodeState = 'assigned' | 'starting' | 'joined' | 'lost' | 'released' | 'failed';
/** Node states that hold the device's slots (and that heartbeats keep alive). */
export const ACTIVE_NODE_STATES: readonly LeaseNodeState[] = Object.freeze(['assigned', 'starting', 'joined'] as const);

export type LeaseTopology = 'tight' | 'spread';
export type LeaseNodeRole = 'head' | 'worker';
/** Something the buyer is told, e.g. "head re-formed on device X". (A type alias so that it is a JsonValue.) */
export type LeaseNotice = { atMs: number; text: string };

export interface LeaseRecord {
  id: LeaseId;
  buyer: Address;
  name: string | null;
  state: LeaseState;
  gpuModel: GpuModel;
  slots: number;
  topology: LeaseTopology;
  /** The validated request as JSON (regions, minTier, maxPrice, hours, pay token…). */
  request: JsonValue;
  /** Σ node price × slots, fixed at booking. */
  pricePerHour: MicroUsd;
  /** Per-lease Ray auth token. A secret: never list it in API output. */
  rayToken: string;
  headDeviceId: DeviceId | null;
  createdAtMs: number;
  readyAtMs: number | null;
  expiresAtMs: number;
  endedAtMs: number | null;
  failureReason: string | null;
  notices: LeaseNotice[];
  /** 1 on create, +1 on every update (optimistic concurrency, see LeasesRepo.update). */
  version: number;
}

export interface LeaseNodeRecord {
  id: number;
  leaseId: LeaseId;
  deviceId: DeviceId;
  role: LeaseNodeRole;
  /** GPU slots of the device that this node gives the lease. */
  slots: number;
  pricePerGpuHour: MicroUsd;
  state: LeaseNodeState;
  rayNodeId: string | null;
  endpoint: JsonValue | null;
  assignedAtMs: number;
  joinedAtMs: number | null;
  lastSeenMs: number | null;
  endedAtMs: number | null;
  endReason: string | null;
  /** Settlement has metered this node up to here (ms); null before its first meter record. */
  billedUntilMs: number | null;
}

export type NewLease = Omit<LeaseRecord, 'version'>;
export type LeasePatch = Partial<
  Pick<LeaseRecord, 'state' | 'name' | 'headDeviceId' | 'readyAtMs' | 'expiresAtMs' | 'endedAtMs' | 'failureReason' | 'notices' | 'pricePerHour'>
>;
export type NewLeaseNode = Omit<LeaseNodeRecord, 'id' | 'billedUntilMs'>;
export type LeaseNodePatch = Partial<
  Pick<LeaseNodeRecord, 'state' | 'rayNodeId' | 'endpoint' | 'joinedAtMs' | 'lastSeenMs' | 'endedAtMs' | 'endReason' | 'role'>
>;

export interface LeaseListOptions {
  buyer?: Address;
  /** Only leases in one of these states (an empty list matches none). */
  states?: readonly LeaseState[];
  limit: number;
  /** Keyset pagination: only ids strictly after this one (ids sort bytewise). */
  afterId?: LeaseId;
}

export interface NodeSeen {
  id: number;
  lastSeenMs: number;
}

export interface LeasesRepo {
  /** Inserts the lease with version 1. Fails with a conflict STORE_ERROR (isStoreConflict) if the id exists. */
  create(lease: NewLease): Promise<LeaseRecord>;
  get(id: LeaseId): Promise<LeaseRecord | null>;
  /** Ordered by id; pass the last id of a page as `afterId` for the next one. */
  list(options: LeaseListOptions): Promise<LeaseRecord[]>;
  /** Every lease in ACTIVE_LEASE_STATES, ordered by id. */
  listActive(): Promise<LeaseRecord[]>;
  /**
   * Compare-and-set: applies the patch (and bumps version by one, even for an empty patch)
   * only if the stored version equals expectedVersion; returns the new record, or null on
   * a version mismatch or a missing lease. A key set to undefined is left unchanged.
   */
  update(id: LeaseId, expectedVersion: number, patch: LeasePatch): Promise<LeaseRecord | null>;
  /**
   * Adds a node. Fails with a conflict STORE_ERROR (isStoreConflict) if the device already
   * has an active node (ACTIVE_NODE_STATES) in this lease, and with a STORE_ERROR if the
   * lease does not exist.
   */
  addNode(node: NewLeaseNode): Promise<LeaseNodeRecord>;
  /** Applies the patch; null if there is no such node. Does not change the lease's version. */
  updateNode(id: number, patch: LeaseNodePatch): Promise<LeaseNodeRecord | null>;
  getNode(id: number): Promise<LeaseNodeRecord | null>;
  /** Every node of the lease, ended ones included, ordered by id. */
  nodes(leaseId: LeaseId): Promise<LeaseNodeRecord[]>;
  /** The device's nodes in ACTIVE_NODE_STATES (any lease), ordered by id. */
  activeNodesOnDevice(deviceId: DeviceId): Promise<LeaseNodeRecord[]>;
  /** Slots held by active nodes, per device (devices with none are absent): what the scheduler must not hand out again. */
  activeSlotsByDevice(): Promise<Map<DeviceId, number>>;
  /** Every node in ACTIVE_NODE_STATES, of every lease (what heartbeats keep fresh). */
  activeNodes(): Promise<LeaseNodeRecord[]>;
  /**
   * The heartbeat path, all rows at once (batched like devices.markSeenBatch): lastSeenMs
   * only moves forward, and only nodes in ACTIVE_NODE_STATES are touched (a late heartbeat
   * never extends a node that was already lost or ended). Unknown ids are ignored.
   * Returns how many nodes were touched.
   */
  touchNodes(rows: readonly NodeSeen[]): Promise<number>;
}

// Spelled out for raw SQL; checked against the constants when the module loads.
const ACTIVE_NODE_STATES_SQL = `('assigned', 'starting', 'joined')`;
if (ACTIVE_NODE_STATES_SQL !== `(${ACTIVE_NODE_STATES.map((s) => `'${s}'`).join(', ')})`) {
  throw new Error('ACTIVE_NODE_STATES_SQL is out of date');
}

const SQLITE_TOUCH = `UPDATE lease_nodes SET last_seen_ms = max(COALESCE(last_seen_ms, @lastSeenMs), @lastSeenMs)
WHERE id = @id AND state IN ${ACTIVE_NODE_STATES_SQL}`;

export function leasesRepo(ctx: RepoContext): LeasesRepo {
  const { db } = ctx;

  async function get(id: LeaseId): Promise<LeaseRecord | null> {
    const row = await db.selectFrom('leases').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toLeaseRecord(row);
  }

  async function getNode(id: number): Promise<LeaseNodeRecord | null> {
    const row = await db.selectFrom('lease_nodes').selectAll().where('id', '=', assertInteger('id', id)).executeTakeFirst();
    return row === undefined ? null : toLeaseNodeRecord(row);
  }

  function touchSqlite(rows: readonly NodeSeen[]): Promise<number> {
    return withRawSqlite(ctx, (raw) => {
      const statement = raw.prepare(SQLITE_TOUCH);
      let touched = 0;
      for (const row of rows) touched += Number(statement.run(row).changes);
      return touched;
    });
  }

  /** One UPDATE … FROM unnest(arrays): two parameters whatever the batch size. */
  async function touchPostgres(rows: readonly NodeSeen[]): Promise<number> {
    const result = await sql`
      UPDATE lease_nodes SET last_seen_ms = GREATEST(lease_nodes.last_seen_ms, v.last_seen_ms)
      FROM unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.lastSeenMs)}::bigint[]) AS v(id, last_seen_ms)
      WHERE lease_nodes.id = v.id AND lease_nodes.state IN ${sql.raw(ACTIVE_NODE_STATES_SQL)}`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  }

  return guardRepo('leases', {
    async create(lease) {
      const row = await db
        .insertInto('leases')
        .values({
          id: lease.id,
          buyer: lease.buyer,
          name: lease.name,
          state: lease.state,
          gpu_model: lease.gpuModel,
          slots: assertInteger('slots', lease.slots),
          topology: lease.topology,
          request: encodeJson(lease.request),
          price_per_hour: lease.pricePerHour,
          ray_token: lease.rayToken,
          head_device_id: lease.headDeviceId,
          created_at_ms: assertInteger('createdAtMs', lease.createdAtMs),
          ready_at_ms: nullableInteger('readyAtMs', lease.readyAtMs),
          expires_at_ms: assertInteger('expiresAtMs', lease.expiresAtMs),
          ended_at_ms: nullableInteger('endedAtMs', lease.endedAtMs),
          failure_reason: lease.failureReason,
          notices: encodeJson(lease.notices),
          version: 1,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toLeaseRecord(row);
    },

    get,

    async list(options) {
      if (options.states?.length === 0) return [];
      let query = db.selectFrom('leases').selectAll();
      if (options.buyer !== undefined) query = query.where('buyer', '=', options.buyer);
      if (options.states !== undefined) query = query.where('state', 'in', options.states);
      if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
      const rows = await query.orderBy('id').limit(assertInteger('limit', options.limit)).execute();
      return rows.map(toLeaseRecord);
    },

    async listActive() {
      const rows = await db.selectFrom('leases').selectAll().where('state', 'in', ACTIVE_LEASE_STATES).orderBy('id').execute();
      return rows.map(toLeaseRecord);
    },

    async update(id, expectedVersion, patch) {
      const changes: Updateable<LeasesTable> = {};
      if (patch.state !== undefined) changes.state = patch.state;
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.headDeviceId !== undefined) changes.head_device_id = patch.headDeviceId;
      if (patch.readyAtMs !== undefined) changes.ready_at_ms = nullableInteger('readyAtMs', patch.readyAtMs);
      if (patch.expiresAtMs !== undefined) changes.expires_at_ms = assertInteger('expiresAtMs', patch.expiresAtMs);
      if (patch.endedAtMs !== undefined) changes.ended_at_ms = nullableInteger('endedAtMs', patch.endedAtMs);
      if (patch.failureReason !== undefined) changes.failure_reason = patch.failureReason;
      if (patch.notices !== undefined) changes.notices = encodeJson(patch.notices);
      if (patch.pricePerHour !== undefined) changes.price_per_hour = patch.pricePerHour;
      const row = await db
        .updateTable('leases')
        .set({ ...changes, version: sql<bigint>`version + 1` })
        .where('id', '=', id)
        .where('version', '=', assertInteger('expectedVersion', expectedVersion))
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : toLeaseRecord(row);
    },

    async addNode(node) {
      const row = await db
        .insertInto('lease_nodes')
        .values({
          lease_id: node.leaseId,
          device_id: node.deviceId,
          role: node.role,
          slots: assertInteger('slots', node.slots),
          price_per_gpu_hour: node.pricePerGpuHour,
          state: node.state,
          ray_node_id: node.rayNodeId,
          endpoint: node.endpoint === null ? null : encodeJson(node.endpoint),
          assigned_at_ms: assertInteger('assignedAtMs', node.assignedAtMs),
          joined_at_ms: nullableInteger('joinedAtMs', node.joinedAtMs),
          last_seen_ms: nullableInteger('lastSeenMs', node.lastSeenMs),
          ended_at_ms: nullableInteger('endedAtMs', node.endedAtMs),
          end_reason: node.endReason,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toLeaseNodeRecord(row);
    },

    async updateNode(id, patch) {
      const changes: Updateable<LeaseNodesTable> = {};
      if (patch.state !== undefined) changes.state = patch.state;
      if (patch.rayNodeId !== undefined) changes.ray_node_id = patch.rayNodeId;
      if (patch.endpoint !== undefined) changes.endpoint = patch.endpoint === null ? null : encodeJson(patch.endpoint);
      if (patch.joinedAtMs !== undefined) changes.joined_at_ms = nullableInteger('joinedAtMs', patch.joinedAtMs);
      if (patch.lastSeenMs !== undefined) changes.last_seen_ms = nullableInteger('lastSeenMs', patch.lastSeenMs);
      if (patch.endedAtMs !== undefined) changes.ended_at_ms = nullableInteger('endedAtMs', patch.endedAtMs);
      if (patch.endReason !== undefined) changes.end_reason = patch.endReason;
      if (patch.role !== undefined) changes.role = patch.role;
      if (Object.keys(changes).length === 0) return getNode(id);
      const row = await db
        .updateTable('lease_nodes')
        .set(changes)
        .where('id', '=', assertInteger('id', id))
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : toLeaseNodeRecord(row);
    },

    getNode,

    async nodes(leaseId) {
      const rows = await db.selectFrom('lease_nodes').selectAll().where('lease_id', '=', leaseId).orderBy('id').execute();
      return rows.map(toLeaseNodeRecord);
    },

    async activeNodesOnDevice(deviceId) {
      const rows = await db
        .selectFrom('lease_nodes')
        .selectAll()
        .where('device_id', '=', deviceId)
        .where('state', 'in', ACTIVE_NODE_STATES)
        .orderBy('id')
        .execute();
      return rows.map(toLeaseNodeRecord);
    },

    async activeNodes() {
      const rows = await db.selectFrom('lease_nodes').selectAll().where('state', 'in', ACTIVE_NODE_STATES).orderBy('id').execute();
      return rows.map(toLeaseNodeRecord);
    },

    async activeSlotsByDevice() {
      const rows = await db
        .selectFrom('lease_nodes')
        .select((eb) => ['device_id', eb.fn.sum<string | number | bigint>('slots').as('slots')])
        .where('state', 'in', ACTIVE_NODE_STATES)
        .groupBy('device_id')
        .orderBy('device_id')
        .execute();
      return new Map(rows.map((r) => [r.device_id as DeviceId, toNumber(r.slots)]));
    },

    async touchNodes(rows) {
      if (rows.length === 0) return 0;
      // One row per node (the latest), so that UPDATE … FROM matches each node once.
      const latest = new Map<number, number>();
      for (const row of rows) {
        assertInteger('id', row.id);
        const at = assertInteger('lastSeenMs', row.lastSeenMs);
        const prior = latest.get(row.id);
        if (prior === undefined || at > prior) latest.set(row.id, at);
      }
      const unique = [...latest].map(([id, lastSeenMs]) => ({ id, lastSeenMs }));
      return ctx.kind === 'sqlite' ? touchSqlite(unique) : touchPostgres(unique);
    },
  });
}

function nullableInteger(name: string, value: number | null): number | null {
  return value === null ? null : assertInteger(name, value);
}

function toLeaseRecord(row: Selectable<LeasesTable>): LeaseRecord {
  return {
    id: row.id as LeaseId,
    buyer: row.buyer as Address,
    name: row.name,
    state: row.state as LeaseState,
    gpuModel: row.gpu_model as GpuModel,
    slots: toNumber(row.slots),
    topology: row.topology as LeaseTopology,
    request: decodeJson(row.request),
    pricePerHour: toBigint(row.price_per_hour) as MicroUsd,
    rayToken: row.ray_token,
    headDeviceId: row.head_device_id as DeviceId | null,
    createdAtMs: toNumber(row.created_at_ms),
    readyAtMs: toNumberOrNull(row.ready_at_ms),
    expiresAtMs: toNumber(row.expires_at_ms),
    endedAtMs: toNumberOrNull(row.ended_at_ms),
    failureReason: row.failure_reason,
    notices: decodeJson(row.notices) as LeaseNotice[],
    version: toNumber(row.version),
  };
}

function toLeaseNodeRecord(row: Selectable<LeaseNodesTable>): LeaseNodeRecord {
  return {
    id: toNumber(row.id),
    leaseId: row.lease_id as LeaseId,
    deviceId: row.device_id as DeviceId,
    role: row.role as LeaseNodeRole,
    slots: toNumber(row.slots),
    pricePerGpuHour: toBigint(row.price_per_gpu_hour) as MicroUsd,
    state: row.state as LeaseNodeState,
    rayNodeId: row.ray_node_id,
    endpoint: decodeJsonOrNull(row.endpoint),
    assignedAtMs: toNumber(row.assigned_at_ms),
    joinedAtMs: toNumberOrNull(row.joined_at_ms),
    lastSeenMs: toNumberOrNull(row.last_seen_ms),
    endedAtMs: toNumberOrNull(row.ended_at_ms),
    endReason: row.end_reason,
    billedUntilMs: toNumberOrNull(row.billed_until_ms),
  };
}
