import { canonicalJson } from './canonical-json.ts';
import { signBytes, verifyBytes, type Keypair } from './keys.ts';

/**
 * The bytes an agent signs for a message on a connection: the canonical JSON of the
 * message without `sig`, with the connection's challenge nonce added. Binding the nonce
 * means a message captured on one connection cannot be replayed on another.
 */
export function agentSigningPayload(message: Record<string, unknown>, nonce: string): string {
  const { sig: _sig, ...rest } = message;
  return canonicalJson({ ...rest, nonce });
}

export function signAgentMessage<T extends Record<string, unknown>>(
  keypair: Keypair,
  message: T,
  nonce: string,
): T & { sig: string } {
  return { ...message, sig: signBytes(keypair, agentSigningPayload(message, nonce)) };
}

export function verifyAgentMessage(deviceKey: string, message: Record<string, unknown>, nonce: string): boolean {
  const sig = message['sig'];
  if (typeof sig !== 'string') return false;
  return verifyBytes(deviceKey, agentSigningPayload(message, nonce), sig);
}

/** The text a wallet signs to obtain an API key. */
export function loginMessage(input: { wallet: string; nonce: string; expiresAt: number }): string {
  return `idlegrid login\nwallet: ${input.wallet}\nnonce: ${input.nonce}\nexpires: ${new Date(input.expiresAt).toISOString()}`;
}
