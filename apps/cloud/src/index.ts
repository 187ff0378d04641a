export { createCloudApp, cryptoRandom, CLOUD_VERSION, type CloudApp, type CloudDeps } from './app.ts';
export { loadCloudConfig, type CloudConfig, type CloudConfigInput } from './config.ts';
export { startCloud, openCloudStore, openCloudLedger, type RunningCloud } from './server.ts';
export { DeviceRegistry, type LiveDevice } from './live/device-registry.ts';
export { storeIdempotency } from './settlement/store-idempotency.ts';
