import { sql, type Selectable } from 'kysely';
import { ADVISORY_LOCKS } from '../advisory-locks.ts';
import { assertInteger, toNumber } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { decodeJson, encodeJson, type JsonValue } from '../json.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { EventsTable } from '../schema.ts';

export interface EventRecord {
  /** Increases with every append; readers page with afterSeq. */
  seq: number;
  /** What happened, e.g. "device.online", "lease.created". */
  kind: string;
  /** What it happened to, e.g. a device or lease id. */
  subject: string;
  data: JsonValue;
  atMs: number;
}

export interface NewEvent {
  kind: string;
  subject: string;
  data: JsonValue;
  atMs: number;
}

export interface EventListOptions {
  kind?: string;
  subject?: string;
  limit: number;
  /** Only events with seq > afterSeq. */
  afterSeq?: number;
  /** Only events with seq < beforeSeq. */
  beforeSeq?: number;
  /** 'asc' (default: oldest first, page forward with afterSeq) or 'desc' (newest first, page back with beforeSeq). */
  order?: 'asc' | 'desc';
}

export interface EventsRepo {
  /**
   * Appends an event. On PostgreSQL the append takes a transaction-scoped advisory lock,
   * so events commit in seq order and a reader paging with afterSeq never skips one that
   * commits late. Inside store.transaction the lock is held until that transaction ends:
   * append events last in long transactions.
   */
  append(event: NewEvent): Promise<EventRecord>;
  list(options: EventListOptions): Promise<EventRecord[]>;
}

export function eventsRepo(ctx: RepoContext): EventsRepo {
  return guardRepo('events', {
    async append(event) {
      const values = {
        kind: event.kind,
        subject: event.subject,
        data: encodeJson(event.data),
        at_ms: assertInteger('atMs', event.atMs),
      };
      const insert = (db: RepoContext['db']) =>
        db.insertInto('events').values(values).returning('seq').executeTakeFirstOrThrow();
      const row =
        ctx.kind === 'postgres'
          ? await inTransaction(ctx, async (db) => {
              await sql`select pg_advisory_xact_lock(${ADVISORY_LOCKS.eventsAppend})`.execute(db);
              return insert(db);
            })
          : await insert(ctx.db);
      return { seq: toNumber(row.seq), kind: values.kind, subject: values.subject, data: decodeJson(values.data), atMs: values.at_ms };
    },

    async list(options) {
      let query = ctx.db.selectFrom('events').selectAll();
      if (options.kind !== undefined) query = query.where('kind', '=', options.kind);
      if (options.subject !== undefined) query = query.where('subject', '=', options.subject);
      if (options.afterSeq !== undefined) query = query.where('seq', '>', assertInteger('afterSeq', options.afterSeq));
      if (options.beforeSeq !== undefined) query = query.where('seq', '<', assertInteger('beforeSeq', options.beforeSeq));
      const rows = await query
        .orderBy('seq', options.order ?? 'asc')
        .limit(assertInteger('limit', options.limit))
        .execute();
      return rows.map(toEventRecord);
    },
  });
}

function toEventRecord(row: Selectable<EventsTable>): EventRecord {
  return { seq: toNumber(row.seq), kind: row.kind, subject: row.subject, data: decodeJson(row.data), atMs: toNumber(row.at_ms) };
}
