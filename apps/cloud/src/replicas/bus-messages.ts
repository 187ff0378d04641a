import { z } from 'zod';
import { addressSchema, coordinateSchema, leaseStatusSchema, probeResultSchema, tierSchema } from '@idlegrid/protocol';

/**
 * Messages between control-plane replicas (PostgreSQL LISTEN/NOTIFY in production, an
 * in-memory hub in tests). Every message names its sender; each replica ignores its own.
 * Lists are split so that one message stays under PostgreSQL's 8,000-byte payload limit.
 */

export const replicaIdSchema = z.string().regex(/^r-[a-z0-9]{4,40}$/, 'expected a replica id (r-…)');

const from = replicaIdSchema;
const liveCoordinate = coordinateSchema.extend({ error: z.number().finite().nonnegative().optional() });

/** A device as its owner announces it; the rest (hardware, price, payout) the others read from the store. */
export const announcedDeviceSchema = z.object({
  id: addressSchema,
  /** ip:port of the agent's RTT echo as the owner sees it. */
  echo: z.string().max(80).nullable(),
  verified: z.boolean(),
  tier: tierSchema,
  reputation: z.number().int().min(0).max(1000),
  coordinate: liveCoordinate.nullable(),
});
export type AnnouncedDevice = z.infer<typeof announcedDeviceSchema>;

export const busMessageSchema = z.discriminatedUnion('t', [
  /** Every second: who is alive, where, whether it leads, and which chain it settles on. */
  z.object({ t: z.literal('alive'), from, url: z.string().url(), leader: z.boolean(), chain: z.string().max(200), at: z.number().int(), devices: z.number().int().nonnegative() }),
  /** The sender holds these devices' connections now. */
  z.object({ t: z.literal('up'), from, devices: z.array(announcedDeviceSchema) }),
  /** The sender lost these devices (connection closed or silent) at `seen`, their last message. */
  z.object({ t: z.literal('down'), from, devices: z.array(z.object({ id: addressSchema, seen: z.number().int() })) }),
  /** Tier, reputation or verification changed (an epoch, a verdict). */
  z.object({
    t: z.literal('standing'), from,
    devices: z.array(z.object({ id: addressSchema, tier: tierSchema.optional(), reputation: z.number().int().min(0).max(1000).optional(), verified: z.boolean().optional() })),
  }),
  /** New network coordinates. */
  z.object({ t: z.literal('moved'), from, devices: z.array(liveCoordinate.extend({ id: addressSchema })) }),
  /** A server → agent message for a device whose connection `to` holds. */
  z.object({ t: z.literal('send'), from, to: replicaIdSchema, device: addressSchema, message: z.record(z.string(), z.unknown()) }),
  /** An agent's lease status or probe result, for the leader (it runs the leases and the probe planner). */
  z.object({ t: z.literal('agent'), from, device: addressSchema, message: z.discriminatedUnion('type', [leaseStatusSchema, probeResultSchema]) }),
  /** `settle`: the leader should run a settlement round soon; `leases`: leases changed, followers re-read reservations. */
  z.object({ t: z.literal('nudge'), from, what: z.enum(['settle', 'leases']) }),
  /** The sender (re)joined: everyone announces its devices again. */
  z.object({ t: z.literal('sync'), from }),
  /** The sender is stopping cleanly. */
  z.object({ t: z.literal('bye'), from }),
]);
export type BusMessage = z.infer<typeof busMessageSchema>;
export type BusMessageOf<T extends BusMessage['t']> = Extract<BusMessage, { t: T }>;

/**
 * Splits `items` into as many messages `make(chunk)` as needed for each to serialize to at
 * most `maxBytes` bytes (an item larger than that alone still goes, alone).
 */
export function splitMessages<I, M>(items: readonly I[], make: (chunk: I[]) => M, maxBytes: number): M[] {
  const out: M[] = [];
  const overhead = Buffer.byteLength(JSON.stringify(make([])), 'utf8');
  let chunk: I[] = [];
  let size = overhead;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
    if (chunk.length > 0 && size + bytes > maxBytes) {
      out.push(make(chunk));
      chunk = [];
      size = overhead;
    }
    chunk.push(item);
    size += bytes;
  }
  if (chunk.length > 0) out.push(make(chunk));
  return out;
}
