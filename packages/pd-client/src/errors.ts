import { pdpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

/**
 * PD answered with an error in its response header (`ResponseHeader.error`). `errorType` is PD's
 * `pdpb.ErrorType`; `message` is PD's text. The subclasses below name the types callers branch
 * on; every other type arrives as this class itself (code `KV:PD:Unknown` or the type's code).
 * Not retryable by the client: the request reached the leader and was refused.
 */
export class PdServerError extends TikvError {
  readonly code: string;
  /** PD's error type from the response header. */
  readonly errorType: pdpb.ErrorType;
  /** The RPC that failed (`"GetRegion"`, `"Tso"`, …). */
  readonly method: string;

  constructor(method: string, errorType: pdpb.ErrorType, message: string, options?: ErrorOptions) {
    super(`PD ${method} failed (${pdpb.errorTypeToJSON(errorType)}): ${message}`, options);
    this.method = method;
    this.errorType = errorType;
    this.code = codeOf(errorType);
  }
}

/** The cluster has not been bootstrapped yet (`NOT_BOOTSTRAPPED`). */
export class PdNotBootstrappedError extends PdServerError {}
/** A second bootstrap of a bootstrapped cluster (`ALREADY_BOOTSTRAPPED`). */
export class PdAlreadyBootstrappedError extends PdServerError {}
/** The store was removed for good (`STORE_TOMBSTONE`). */
export class PdStoreTombstoneError extends PdServerError {}
/** No region with this id or for this key (`REGION_NOT_FOUND`). */
export class PdRegionNotFoundError extends PdServerError {}
/** A value PD refused as invalid (`INVALID_VALUE`), e.g. a stale split request. */
export class PdInvalidValueError extends PdServerError {}
/** A named entry does not exist (`ENTRY_NOT_FOUND`), e.g. an unknown keyspace. */
export class PdEntryNotFoundError extends PdServerError {}

function codeOf(type: pdpb.ErrorType): string {
  switch (type) {
    case pdpb.ErrorType.NOT_BOOTSTRAPPED:
      return 'KV:PD:ClusterNotBootstrapped';
    case pdpb.ErrorType.ALREADY_BOOTSTRAPPED:
      return 'KV:PD:ClusterBootstrapped';
    case pdpb.ErrorType.STORE_TOMBSTONE:
      return 'KV:PD:StoreTombstone';
    case pdpb.ErrorType.REGION_NOT_FOUND:
      return 'KV:PD:RegionNotFound';
    case pdpb.ErrorType.INCOMPATIBLE_VERSION:
      return 'KV:PD:Incompatible';
    case pdpb.ErrorType.GLOBAL_CONFIG_NOT_FOUND:
      return 'KV:PD:GlobalConfigNotFound';
    case pdpb.ErrorType.DUPLICATED_ENTRY:
      return 'KV:PD:DuplicatedEntry';
    case pdpb.ErrorType.ENTRY_NOT_FOUND:
      return 'KV:PD:EntryNotFound';
    case pdpb.ErrorType.INVALID_VALUE:
      return 'KV:PD:InvalidValue';
    case pdpb.ErrorType.DATA_COMPACTED:
      return 'KV:PD:DataCompacted';
    case pdpb.ErrorType.REGIONS_NOT_CONTAIN_ALL_KEY_RANGE:
      return 'KV:PD:RegionsNotContainAllKeyRange';
    case pdpb.ErrorType.OK:
    case pdpb.ErrorType.UNKNOWN:
      return 'KV:PD:Unknown';
    default: {
      const never: never = type;
      return `KV:PD:Unknown${String(never)}`;
    }
  }
}

/**
 * The one mapping from a response header to a typed error (STYLE.md §5): `undefined` when the
 * header carries no error (or error type OK).
 */
export function errorFromHeader(method: string, header: pdpb.ResponseHeader | undefined): PdServerError | undefined {
  const err = header?.error;
  if (err === undefined || err.type === pdpb.ErrorType.OK) return undefined;
  switch (err.type) {
    case pdpb.ErrorType.NOT_BOOTSTRAPPED:
      return new PdNotBootstrappedError(method, err.type, err.message);
    case pdpb.ErrorType.ALREADY_BOOTSTRAPPED:
      return new PdAlreadyBootstrappedError(method, err.type, err.message);
    case pdpb.ErrorType.STORE_TOMBSTONE:
      return new PdStoreTombstoneError(method, err.type, err.message);
    case pdpb.ErrorType.REGION_NOT_FOUND:
      return new PdRegionNotFoundError(method, err.type, err.message);
    case pdpb.ErrorType.INVALID_VALUE:
      return new PdInvalidValueError(method, err.type, err.message);
    case pdpb.ErrorType.ENTRY_NOT_FOUND:
      return new PdEntryNotFoundError(method, err.type, err.message);
    case pdpb.ErrorType.UNKNOWN:
    case pdpb.ErrorType.INCOMPATIBLE_VERSION:
    case pdpb.ErrorType.GLOBAL_CONFIG_NOT_FOUND:
    case pdpb.ErrorType.DUPLICATED_ENTRY:
    case pdpb.ErrorType.DATA_COMPACTED:
    case pdpb.ErrorType.REGIONS_NOT_CONTAIN_ALL_KEY_RANGE:
      return new PdServerError(method, err.type, err.message);
    default:
      // A type newer than our proto: keep PD's number.
      return new PdServerError(method, err.type as pdpb.ErrorType, err.message);
  }
}

/**
 * PD could not be reached, or the leader changed under the request, and the retries allowed by
 * the options ran out (or the signal aborted the wait). Retryable: a later call may succeed.
 * `cause` holds the last transport error.
 */
export class PdUnavailableError extends TikvError {
  readonly code = 'KV:PD:Unavailable';
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The TSO stream broke while a batch of `getTimestamp()` calls was waiting for its answer (or
 * PD answered it with a bad count or a timestamp that went backwards). Every caller of that batch
 * receives this error; the client reconnects and later calls get fresh timestamps. Retryable.
 */
export class PdTsoStreamError extends TikvError {
  readonly code = 'KV:PD:StreamDisconnect';
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A gRPC failure that retrying will not fix (UNIMPLEMENTED, INVALID_ARGUMENT, INTERNAL, …).
 * `grpcCode` is the gRPC status code; `cause` the grpc-js error.
 */
export class PdRpcError extends TikvError {
  readonly code = 'KV:PD:gRPC';
  constructor(
    readonly method: string,
    readonly grpcCode: number,
    details: string,
    options?: ErrorOptions,
  ) {
    super(`PD ${method} failed with gRPC status ${grpcCode}: ${details}`, options);
  }
}

/** The client was closed; every pending and later call fails with this. */
export class PdClientClosedError extends TikvError {
  readonly code = 'KV:PD:ClientClosed';
  constructor(options?: ErrorOptions) {
    super('PD client is closed', options);
  }
}

/**
 * GetMembers answered with a cluster id other than the one this client already follows (a PD URL
 * of another cluster). The member is skipped during discovery; this error is raised only when no
 * member of the right cluster answers.
 */
export class PdClusterIdMismatchError extends TikvError {
  readonly code = 'KV:PD:ClusterIdMismatch';
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(`PD at ${url} belongs to cluster ${actual}, expected cluster ${expected}`, options);
  }
}
