import { z } from 'zod';
import { isLeaseId } from '@idlegrid/domain';
import {
  addressSchema, base58SignatureSchema, coordinateSchema, decimalSchema, hardwareReportSchema,
  nonceSchema, regionSchema,
} from './common.ts';

/** Largest agent message the gateway accepts, in bytes of UTF-8 JSON. */
export const AGENT_MESSAGE_LIMIT_BYTES = 64 * 1024;
export const AGENT_PROTOCOL_VERSION = 1;
/**
 * Largest `verify-result`: one `"<sketch>:<digest>"` (≤ 22 characters) per row, up to
 * MAX_CHALLENGE_N (16,384) rows, is ≈ 410 KB of JSON.
 */
export const VERIFY_RESULT_LIMIT_BYTES = 512 * 1024;

/** The size limit of an agent message of `type` (only verify-result may exceed the general limit). */
export function agentMessageLimitBytes(type: string): number {
  return type === 'verify-result' ? VERIFY_RESULT_LIMIT_BYTES : AGENT_MESSAGE_LIMIT_BYTES;
}

const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const leaseIdSchema = z.string().refine(isLeaseId, 'expected a lease id (lse_…)');

/** Addresses of a Ray node as its agent reports them (host:port / URLs on the agent's IP). */
export const rayEndpointSchema = z.object({
  nodeIp: z.string().max(64),
  gcsAddress: z.string().max(200).optional(),
  dashboardUrl: z.string().max(200).optional(),
  serveUrl: z.string().max(200).optional(),
});
export type RayEndpoint = z.infer<typeof rayEndpointSchema>;

// ---- agent → server --------------------------------------------------------------

export const helloSchema = z.object({
  type: z.literal('hello'),
  nonce: nonceSchema,
  deviceKey: addressSchema,
  agentVersion: z.string().min(1).max(40),
  protocolVersion: z.number().int().positive(),
  hardware: hardwareReportSchema,
  region: regionSchema,
  pricePerGpuHour: decimalSchema,
  payout: addressSchema,
  /** TCP port of the agent's RTT echo (peers probe it to compute network coordinates). */
  echoPort: z.number().int().min(1).max(65_535).optional(),
  sig: base58SignatureSchema,
});

export const heartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  seq,
  sentAt: z.number().int().nonnegative(),
  load: z.object({
    cpu: z.number().min(0).max(1024),
    memoryUsedBytes: z.number().int().nonnegative(),
    gpuUtilization: z.array(z.number().min(0).max(100)).max(64),
  }),
  coordinate: coordinateSchema.extend({ error: z.number().finite().nonnegative() }).nullable(),
  /** Cumulative GPU-seconds served per lease on this device, as the agent measured them. */
  leases: z.array(z.object({ leaseId: leaseIdSchema, gpuSeconds: z.number().nonnegative() })).max(64),
  sig: base58SignatureSchema,
});

export const leaseStatusSchema = z.object({
  type: z.literal('lease-status'),
  seq,
  leaseId: leaseIdSchema,
  state: z.enum(['starting', 'joined', 'failed', 'stopped']),
  rayNodeId: z.string().max(100).nullable(),
  /** Where the node can be reached; the head reports its GCS, dashboard and Serve addresses. */
  endpoint: rayEndpointSchema.nullable(),
  reason: z.string().max(1000).nullable(),
  sig: base58SignatureSchema,
});

export const verifyResultSchema = z.object({
  type: z.literal('verify-result'),
  seq,
  challengeId: z.string().max(64),
  /** One `"<sketch>:<digest>"` per row of C (see @idlegrid/economics freivalds.ts). */
  checksums: z.array(z.string().max(32)).max(16_384),
  /** Milliseconds the product itself took on the device (not the derivation or the checksums). */
  elapsedMs: z.number().nonnegative().finite(),
  sig: base58SignatureSchema,
});

export const probeResultSchema = z.object({
  type: z.literal('probe-result'),
  seq,
  rtts: z.array(z.object({ deviceId: addressSchema, rttMs: z.number().nonnegative().nullable() })).max(64),
  sig: base58SignatureSchema,
});

/** Message schemas after hello, by type. */
export const AGENT_SESSION_MESSAGES = {
  heartbeat: heartbeatSchema,
  'lease-status': leaseStatusSchema,
  'verify-result': verifyResultSchema,
  'probe-result': probeResultSchema,
} as const;

export type HelloMessage = z.infer<typeof helloSchema>;
export type HeartbeatMessage = z.infer<typeof heartbeatSchema>;
export type LeaseStatusMessage = z.infer<typeof leaseStatusSchema>;
export type VerifyResultMessage = z.infer<typeof verifyResultSchema>;
export type ProbeResultMessage = z.infer<typeof probeResultSchema>;
export type AgentSessionMessageType = keyof typeof AGENT_SESSION_MESSAGES;
export type AgentSessionMessage = HeartbeatMessage | LeaseStatusMessage | VerifyResultMessage | ProbeResultMessage;

// ---- server → agent --------------------------------------------------------------

export const challengeSchema = z.object({
  type: z.literal('challenge'),
  nonce: nonceSchema,
  protocolVersion: z.number().int().positive(),
  serverTime: z.number().int(),
});

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  deviceId: addressSchema,
  heartbeatSeconds: z.number().positive(),
  nodeLossSeconds: z.number().positive(),
});

export const serverErrorSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const assignSchema = z.object({
  type: z.literal('assign'),
  leaseId: leaseIdSchema,
  role: z.enum(['head', 'worker']),
  /** The head to join (null when this node is the head). */
  head: z.object({ gcsAddress: z.string().max(200), dashboardUrl: z.string().max(200) }).nullable(),
  rayToken: z.string().min(16).max(200),
  /** Ray resources of the node: GPUs leased on this device (0 for the cpu class) and CPUs. */
  resources: z.object({ gpus: z.number().int().nonnegative(), cpus: z.number().int().positive() }),
  expiresAt: z.number().int(),
});

export const releaseSchema = z.object({
  type: z.literal('release'),
  leaseId: leaseIdSchema,
  reason: z.string().max(200),
});

/** A proof-of-GPU challenge: multiply the two n×n matrices derived from `seed` and answer within `deadlineMs`. */
export const verifySchema = z.object({
  type: z.literal('verify'),
  challengeId: z.string().max(64),
  /** 32 bytes as 64 hex digits. */
  seed: z.string().regex(/^[0-9a-f]{64}$/),
  n: z.number().int().positive().max(16_384),
  /** Milliseconds from receipt the server waits for the answer; work past it is wasted. */
  deadlineMs: z.number().int().positive(),
});

export const probeSchema = z.object({
  type: z.literal('probe'),
  peers: z
    .array(
      z.object({
        deviceId: addressSchema,
        /** ip:port of the peer's RTT echo. */
        address: z.string().max(200),
        /** The peer's last known coordinate, so the prober can run a Vivaldi update. */
        coordinate: coordinateSchema.extend({ error: z.number().finite().nonnegative() }).optional(),
      }),
    )
    .max(64),
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  challengeSchema, welcomeSchema, serverErrorSchema, assignSchema, releaseSchema, verifySchema, probeSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type ChallengeMessage = z.infer<typeof challengeSchema>;
export type AssignMessage = z.infer<typeof assignSchema>;
export type ReleaseMessage = z.infer<typeof releaseSchema>;
