/**
 * The single table of error codes: each code's typed context, its message template
 * ($name is replaced by context.name) and its HTTP status. Add a code here and nowhere else.
 */
export interface ErrorContexts {
  VALIDATION_FAILED: { where: string; issues: ReadonlyArray<{ path: string; message: string }> };
  MALFORMED_JSON: { where: string };
  PAYLOAD_TOO_LARGE: { limitBytes: number };
  ROUTE_NOT_FOUND: { method: string; path: string };
  METHOD_NOT_ALLOWED: { method: string; path: string; allowed: readonly string[] };
  NOT_FOUND: { resource: string; id: string };
  UNAUTHORIZED: { reason: string };
  FORBIDDEN: { reason: string };
  RATE_LIMITED: { retryAfterSeconds: number };
  CHALLENGE_UNKNOWN: { nonce: string };
  BAD_SIGNATURE: { signer: string };
  INVALID_ADDRESS: { value: string };
  INVALID_AMOUNT: { value: string; reason: string };
  UNKNOWN_GPU_MODEL: { value: string; known: readonly string[] };
  KEYPAIR_INVALID: { path: string; reason: string };
  CONFIG_INVALID: { issues: ReadonlyArray<{ path: string; message: string }> };
  AGENT_NOT_HELLO: { got: string };
  AGENT_UNKNOWN_MESSAGE: { type: string };
  AGENT_MALFORMED: { reason: string };
  AGENT_MESSAGE_TOO_LARGE: { bytes: number; limitBytes: number };
  AGENT_BAD_SIGNATURE: { deviceId: string };
  AGENT_SEQ_REPLAY: { seq: number; lastSeq: number };
  AGENT_SEQ_GAP: { seq: number; expected: number };
  AGENT_HELLO_TIMEOUT: { seconds: number };
  AGENT_REPLACED: { deviceId: string };
  AGENT_SILENT: { seconds: number };
  AGENT_STORE_FAILED: { reason: string };
  NO_CAPACITY: { reason: string; available: number; alternatives: readonly string[] };
  LEASE_NOT_ACTIVE: { id: string; state: string };
  LEASE_BUSY: { id: string };
  INSUFFICIENT_ESCROW: { needed: string; available: string; missing: string; wallet: string };
  CLUSTER_NOT_READY: { id: string; state: string };
  CLUSTER_ENDED: { id: string; state: string };
  RAY_UNREACHABLE: { id: string; reason: string };
  CLOUD_UNREACHABLE: { url: string; reason: string };
  CLOUD_ERROR: { status: number; code: string; message: string };
  NO_LEADER: { reason: string; retryAfterSeconds: number };
  CHAIN_DEPOSIT_MALFORMED: { reason: string };
  CHAIN_DEPOSIT_WRONG_DESTINATION: { reason: string };
  CHAIN_DEPOSIT_WRONG_MINT: { reason: string };
  CHAIN_DEPOSIT_WRONG_SOURCE: { reason: string };
  CHAIN_DEPOSIT_WRONG_SIGNER: { reason: string };
  CHAIN_DEPOSIT_TOO_SMALL: { reason: string };
  CHAIN_DEPOSIT_REPLAY: { signature: string };
  CHAIN_DEPOSIT_FAILED: { reason: string };
  CHAIN_AIRDROP_UNAVAILABLE: { reason: string };
  CHAIN_FAILED: { code: string; reason: string };
  CHAIN_AUTHORITY_UNFUNDED: { authority: string; url: string };
  STAKE_DEVICE_UNKNOWN: { deviceId: string };
  STAKE_OTHER_STAKER: { deviceId: string; staker: string };
  STAKE_INSUFFICIENT: { deviceId: string; requested: string; available: string };
  GOV_PARAM_INVALID: { param: string; reason: string };
  GOV_NOT_STAKER: { wallet: string };
  GOV_VOTING_CLOSED: { id: string; endedAt: string };
  GOV_ALREADY_VOTED: { id: string; voter: string };
  GOV_NO_VOTING_POWER: { id: string; voter: string };
  STORE_ERROR: { operation: string; reason: string };
  INTERNAL: { reason: string };
}

export type ErrorCode = keyof ErrorContexts;
export type ErrorContext<C extends ErrorCode> = ErrorContexts[C];

export const ERROR_MESSAGES: { readonly [C in ErrorCode]: string } = {
  VALIDATION_FAILED: 'Invalid $where: $issues',
  MALFORMED_JSON: 'The $where is not valid JSON',
  PAYLOAD_TOO_LARGE: 'The request body is larger than $limitBytes bytes',
  ROUTE_NOT_FOUND: 'No route for $method $path; see GET /v1/openapi.json',
  METHOD_NOT_ALLOWED: '$method is not allowed on $path; use $allowed (see GET /v1/openapi.json)',
  NOT_FOUND: 'No $resource with id $id',
  UNAUTHORIZED: 'Not authenticated: $reason. Get an API key with POST /v1/auth/keys (the CLI does it on first use)',
  FORBIDDEN: 'Not allowed: $reason',
  RATE_LIMITED: 'Too many requests; retry after $retryAfterSeconds s',
  CHALLENGE_UNKNOWN: 'Unknown or expired challenge $nonce; fetch a new one from GET /v1/auth/challenge',
  BAD_SIGNATURE: 'The signature does not verify for $signer',
  INVALID_ADDRESS: 'Not a Solana address (base58 of 32 bytes): $value',
  INVALID_AMOUNT: 'Invalid amount $value: $reason',
  UNKNOWN_GPU_MODEL: 'Unknown GPU model $value; known models: $known',
  KEYPAIR_INVALID: 'Keypair file $path is not usable: $reason',
  CONFIG_INVALID: 'Invalid configuration: $issues',
  AGENT_NOT_HELLO: 'The first agent message must be hello, got $got',
  AGENT_UNKNOWN_MESSAGE: 'Unknown agent message type $type',
  AGENT_MALFORMED: 'Malformed agent message: $reason',
  AGENT_MESSAGE_TOO_LARGE: 'Agent message of $bytes bytes exceeds the $limitBytes byte limit',
  AGENT_BAD_SIGNATURE: 'Agent message signature does not verify for device $deviceId',
  AGENT_SEQ_REPLAY: 'Agent message seq $seq is not above the last seq $lastSeq (replay or reorder)',
  AGENT_SEQ_GAP: 'Agent message seq $seq skips ahead; expected $expected',
  AGENT_HELLO_TIMEOUT: 'No hello within $seconds s',
  AGENT_REPLACED: 'Device $deviceId connected again; this older connection is closed',
  AGENT_SILENT: 'No message for $seconds s; the device is offline. Reconnect to come back',
  AGENT_STORE_FAILED: 'The control plane could not record this device ($reason); retry later',
  NO_CAPACITY: 'Cannot place this cluster now: $reason. Try `idlegrid cloud quote` for alternatives: $alternatives',
  LEASE_NOT_ACTIVE: 'Cluster $id is $state; it cannot be changed any more',
  LEASE_BUSY: 'Cluster $id is being changed by another request; retry in a moment',
  INSUFFICIENT_ESCROW: 'This needs $needed IO in escrow but wallet $wallet has $available IO: deposit at least $missing IO more (`idlegrid wallet deposit --amount $missing --token IO`, or USDC with --token USDC; `idlegrid wallet airdrop` first on the embedded network)',
  CLUSTER_NOT_READY: 'Cluster $id is $state; its Ray head is not reachable yet (wait with `idlegrid cloud status $id`)',
  CLUSTER_ENDED: 'Cluster $id is $state: its Ray nodes are stopped for good. Book a new cluster with `idlegrid cloud deploy`',
  RAY_UNREACHABLE: 'The Ray head of cluster $id did not answer ($reason)',
  CLOUD_UNREACHABLE: 'Cannot reach the idlegrid cloud at $url ($reason). Is it running? Start one with `idlegrid up` or pass --cloud URL',
  CLOUD_ERROR: 'The cloud answered $status $code: $message',
  CHAIN_DEPOSIT_MALFORMED: 'The deposit is not a usable Solana transaction: $reason',
  CHAIN_DEPOSIT_WRONG_DESTINATION: 'The deposit does not pay the escrow: $reason',
  CHAIN_DEPOSIT_WRONG_MINT: 'The deposit pays the wrong token: $reason',
  CHAIN_DEPOSIT_WRONG_SOURCE: 'The deposit does not spend your own token account: $reason',
  CHAIN_DEPOSIT_WRONG_SIGNER: 'The deposit is not signed by your wallet: $reason',
  CHAIN_DEPOSIT_TOO_SMALL: 'The deposit is too small: $reason',
  CHAIN_DEPOSIT_REPLAY: 'Deposit $signature was already submitted; it is credited at most once',
  CHAIN_DEPOSIT_FAILED: 'The deposit did not go through on chain: $reason',
  CHAIN_AIRDROP_UNAVAILABLE: 'Airdrops exist only on the embedded network: $reason',
  CHAIN_FAILED: 'The settlement chain failed ($code): $reason',
  CHAIN_AUTHORITY_UNFUNDED: 'The protocol authority $authority has no SOL on $url: send it at least 0.02 SOL for rent and fees (devnet/testnet: `solana airdrop 1 $authority --url $url`), then run again',
  STAKE_DEVICE_UNKNOWN: 'No device $deviceId is registered: start its agent once (`idlegrid worker start`) so the cloud knows its GPUs, then stake',
  STAKE_OTHER_STAKER: 'Device $deviceId is already staked by $staker: a device has one staker; stake another device',
  STAKE_INSUFFICIENT: 'Cannot unstake $requested IO from device $deviceId: $available IO is staked and not in cooldown (see `idlegrid stake show`)',
  GOV_PARAM_INVALID: 'Proposal for $param refused: $reason (bounds: `GET /v1/params`)',
  GOV_NOT_STAKER: 'Wallet $wallet has no active stake: only stakers propose; stake a device first (`idlegrid stake add`)',
  GOV_VOTING_CLOSED: 'Voting on proposal $id ended at $endedAt; see `idlegrid gov list` for open proposals',
  GOV_ALREADY_VOTED: 'Wallet $voter already voted on proposal $id; a vote cannot be changed',
  GOV_NO_VOTING_POWER: 'Wallet $voter had no active stake when proposal $id was made, so it has no vote on it',
  NO_LEADER: 'No control-plane replica can take this request now ($reason); retry in $retryAfterSeconds s',
  STORE_ERROR: 'Store failure during $operation: $reason',
  INTERNAL: 'Internal error: $reason',
};

export const ERROR_HTTP_STATUS: { readonly [C in ErrorCode]: number } = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  CHALLENGE_UNKNOWN: 401,
  BAD_SIGNATURE: 401,
  INVALID_ADDRESS: 400,
  INVALID_AMOUNT: 400,
  UNKNOWN_GPU_MODEL: 400,
  KEYPAIR_INVALID: 400,
  CONFIG_INVALID: 400,
  AGENT_NOT_HELLO: 400,
  AGENT_UNKNOWN_MESSAGE: 400,
  AGENT_MALFORMED: 400,
  AGENT_MESSAGE_TOO_LARGE: 413,
  AGENT_BAD_SIGNATURE: 401,
  AGENT_SEQ_REPLAY: 400,
  AGENT_SEQ_GAP: 400,
  AGENT_HELLO_TIMEOUT: 408,
  AGENT_REPLACED: 409,
  AGENT_SILENT: 408,
  AGENT_STORE_FAILED: 503,
  NO_CAPACITY: 409,
  LEASE_NOT_ACTIVE: 409,
  LEASE_BUSY: 409,
  INSUFFICIENT_ESCROW: 402,
  CLUSTER_NOT_READY: 409,
  CLUSTER_ENDED: 410,
  RAY_UNREACHABLE: 502,
  CLOUD_UNREACHABLE: 503,
  CLOUD_ERROR: 502,
  NO_LEADER: 503,
  CHAIN_DEPOSIT_MALFORMED: 400,
  CHAIN_DEPOSIT_WRONG_DESTINATION: 400,
  CHAIN_DEPOSIT_WRONG_MINT: 400,
  CHAIN_DEPOSIT_WRONG_SOURCE: 400,
  CHAIN_DEPOSIT_WRONG_SIGNER: 400,
  CHAIN_DEPOSIT_TOO_SMALL: 400,
  CHAIN_DEPOSIT_REPLAY: 409,
  CHAIN_DEPOSIT_FAILED: 402,
  CHAIN_AIRDROP_UNAVAILABLE: 400,
  CHAIN_FAILED: 502,
  CHAIN_AUTHORITY_UNFUNDED: 402,
  STAKE_DEVICE_UNKNOWN: 404,
  STAKE_OTHER_STAKER: 409,
  STAKE_INSUFFICIENT: 409,
  GOV_PARAM_INVALID: 400,
  GOV_NOT_STAKER: 403,
  GOV_VOTING_CLOSED: 409,
  GOV_ALREADY_VOTED: 409,
  GOV_NO_VOTING_POWER: 403,
  STORE_ERROR: 500,
  INTERNAL: 500,
};
