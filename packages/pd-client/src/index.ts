// PD gRPC client: leader discovery, TSO batching, region and store caches, store and region heartbeats.
export type { PdClient, PdCallOptions, RegionInfo, RegionHeartbeat, ServiceSafePointResult, Subscription } from './pd-client';
export { RpcPdClient, pdUrlToTarget, type RpcPdClientOptions } from './rpc-pd-client';
export {
  TsoDispatcher,
  composeTs,
  TSO_LOGICAL_BITS,
  TSO_MAX_LOGICAL,
  type TsoDispatcherOptions,
  type TsoStream,
  type TsoStreamHandlers,
} from './tso-dispatcher';
export { RegionCache, RegionNotLoadedError, type CachedRegion, type RegionSource } from './region-cache';
export { StoreCache, type StoreSource } from './store-cache';
export { Backoff, type BackoffOptions } from './backoff';
export {
  PdServerError,
  PdNotBootstrappedError,
  PdAlreadyBootstrappedError,
  PdStoreTombstoneError,
  PdRegionNotFoundError,
  PdInvalidValueError,
  PdEntryNotFoundError,
  PdUnavailableError,
  PdRpcError,
  PdTsoStreamError,
  PdClientClosedError,
  PdClusterIdMismatchError,
  errorFromHeader,
} from './errors';
