import { TikvError } from '@tikv-ts/util';

/**
 * The cluster has not been bootstrapped yet (no first store and region): everything except the
 * TSO, the id allocator, membership and bootstrap itself is refused. Maps to PD's
 * `NOT_BOOTSTRAPPED` error type.
 */
export class PdNotBootstrappedError extends TikvError {
  readonly code = 'PD:Cluster:NotBootstrapped';
  constructor(options?: ErrorOptions) {
    super('Cluster is not bootstrapped', options);
  }
}

/** A second `Bootstrap` of an already bootstrapped cluster. Maps to `ALREADY_BOOTSTRAPPED`. */
export class PdAlreadyBootstrappedError extends TikvError {
  readonly code = 'PD:Cluster:AlreadyBootstrapped';
  constructor(options?: ErrorOptions) {
    super('Cluster is already bootstrapped', options);
  }
}

/** The store exists but is a tombstone (removed for good). Maps to `STORE_TOMBSTONE`. */
export class PdStoreTombstoneError extends TikvError {
  readonly code = 'PD:Cluster:StoreTombstone';
  constructor(
    readonly storeId: bigint,
    options?: ErrorOptions,
  ) {
    super(`Store ${storeId} is a tombstone`, options);
  }
}

/** No store has this id. Maps to `UNKNOWN` with PD's message ("invalid store ID …, not found"). */
export class PdStoreNotFoundError extends TikvError {
  readonly code = 'PD:Cluster:StoreNotFound';
  constructor(
    readonly storeId: bigint,
    options?: ErrorOptions,
  ) {
    super(`invalid store ID ${storeId}, not found`, options);
  }
}

/** No region has this id or covers this key. Maps to `REGION_NOT_FOUND`. */
export class PdRegionNotFoundError extends TikvError {
  readonly code = 'PD:Cluster:RegionNotFound';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A region heartbeat or split report whose epoch is older than what PD knows (the region itself,
 * or a region overlapping its range, has a newer version or conf version). The update is
 * ignored. Maps to `UNKNOWN` with the reason in the message, as PD answers it.
 */
export class PdStaleRegionError extends TikvError {
  readonly code = 'PD:Cluster:RegionIsStale';
  constructor(
    readonly regionId: bigint,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request value PD cannot accept (bad count, empty address, missing field). Maps to `INVALID_VALUE`. */
export class PdInvalidValueError extends TikvError {
  readonly code = 'PD:Server:InvalidValue';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The request header is missing or names another cluster. PD refuses such requests; we answer
 * with an error header (type `UNKNOWN`, PD's message) and keep serving.
 */
export class PdClusterIdMismatchError extends TikvError {
  readonly code = 'PD:Server:ClusterIdMismatch';
  constructor(
    readonly expected: bigint,
    readonly actual: bigint | undefined,
    options?: ErrorOptions,
  ) {
    super(
      actual === undefined
        ? `missing request header, need cluster id ${expected}`
        : `mismatch cluster id, need ${expected} but got ${actual}`,
      options,
    );
  }
}

/** An entity (keyspace, service safe point…) does not exist. Maps to `ENTRY_NOT_FOUND`. */
export class PdEntryNotFoundError extends TikvError {
  readonly code = 'PD:Server:EntryNotFound';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The server is closed (or closing): the request was not served. */
export class PdServerClosedError extends TikvError {
  readonly code = 'PD:Server:Closed';
  constructor(options?: ErrorOptions) {
    super('PD server is closed', options);
  }
}

/** `BatchScanRegions` with `contain_all_key_range` found a hole. Maps to `REGIONS_NOT_CONTAIN_ALL_KEY_RANGE`. */
export class PdRegionsNotContainAllKeyRangeError extends TikvError {
  readonly code = 'PD:Cluster:RegionsNotContainAllKeyRange';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
