import type { Address, ApiKeyId } from '@idlegrid/domain';

/** Per-request values set by middleware. */
export interface AppEnv {
  Variables: {
    wallet: Address;
    apiKeyId: ApiKeyId;
  };
}
