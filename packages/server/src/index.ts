// gRPC services (client API), the status HTTP server and node bootstrap.
export {
  RegionNotFoundError,
  EpochNotMatchError,
  KeyNotInRegionError,
  StoreNotMatchError,
  MismatchPeerIdError,
  RaftEntryTooLargeError,
  ClusterIdMismatchError,
  InvalidArgumentError,
  InjectedFailureError,
  toRegionError,
} from './errors';
export { RegionManager, isKeyInRegion, cloneRegion, type RegionContext, type RegionCheck, type CheckedRegion, type KeyMode } from './region-manager';
export { Node, type NodeOptions, type StoreInfo } from './node';
export { KvService, type KvServiceOptions, type CommandHandler, type RegionSplitter } from './kv-service';
export { FlowStats, type Flow } from './flow-stats';
export { createServerMetrics, type ServerMetrics } from './metrics';
export { tikvConfigSchema, DATA_DIR_LOCK_FILE, type TikvConfig } from './config';
export { PdWorker, storeSpace, regionApproximateStats, type PdWorkerOptions, type StoreSpace } from './pd-worker';
export { StatusServer, type StatusServerOptions } from './status-server';
export { MeteredEngine } from './metered-engine';
export { TikvServer, ListenError, parseHostPort, checkServerAddresses, type TikvServerOptions, type TikvServerRuntime } from './tikv-server';
export { DebugService, DebugNotFoundError, DebugInvalidArgumentError, DebugUnavailableError, debugErrorStatus, type DebugServiceOptions, type MvccEntry } from './debug-service';
