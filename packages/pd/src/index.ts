// The Placement Driver as a library: TSO, id allocation, cluster state, its gRPC and HTTP services.
export { PdServer, type PdServerOptions, type PdLogger } from './pd-server';
export {
  defaultPdConfig,
  applyPdToml,
  parseDurationMs,
  formatDurationMs,
  effectiveClientUrls,
  effectivePeerUrls,
  pdConfigJson,
  PdConfigError,
  type PdConfig,
} from './config';
export { TsoAllocator, composeTso, TSO_LOGICAL_BITS, TSO_MAX_LOGICAL, type TsoAllocatorOptions, type TsoTimestamp } from './tso';
export { IdAllocator, type IdAllocatorOptions } from './id-allocator';
export { RegionTree, EMPTY_REGION_STATS, type RegionInfo, type RegionStats } from './region-tree';
export { ClusterState, type StoreInfo, type ClusterStateOptions, type RegionHeartbeat, type ServiceSafePointResult } from './cluster';
export { PdStorage, CLUSTER_ID_KEY, type ServiceSafePoint, type EtcdEntry } from './storage';
export { toPdError } from './grpc-service';
export { regionJson, toJsonText } from './http-api';
export {
  PdNotBootstrappedError,
  PdAlreadyBootstrappedError,
  PdStoreTombstoneError,
  PdStoreNotFoundError,
  PdRegionNotFoundError,
  PdRegionsNotContainAllKeyRangeError,
  PdStaleRegionError,
  PdInvalidValueError,
  PdClusterIdMismatchError,
  PdEntryNotFoundError,
  PdServerClosedError,
} from './errors';
export * from './schedule';
export { registerDashboard, summarizeHistogram, type DashboardOptions, type DashboardCore, type HistogramSummary } from './dashboard';
