import { toHex } from '@tikv-ts/codec';
import { errorpb, type metapb } from '@tikv-ts/proto';
import { SchedTooBusyError } from '@tikv-ts/storage';
import { TikvError } from '@tikv-ts/util';

/** The store has no peer of the requested region (TiKV `RegionNotFound`). */
export class RegionNotFoundError extends TikvError {
  readonly code = 'KV:Raftstore:RegionNotFound';
  constructor(readonly regionId: bigint) {
    super(`Region ${regionId} is not found on this store`);
  }
}

/** The request's region epoch differs from the region's current one (TiKV `EpochNotMatch`). */
export class EpochNotMatchError extends TikvError {
  readonly code = 'KV:Raftstore:EpochNotMatch';
  constructor(
    readonly requestEpoch: metapb.RegionEpoch | undefined,
    readonly currentRegions: readonly metapb.Region[],
  ) {
    const cur = currentRegions[0]?.regionEpoch;
    super(
      `Epoch of region ${currentRegions[0]?.id ?? 0n} does not match: request ` +
        `{conf_ver: ${requestEpoch?.confVer ?? 0n}, version: ${requestEpoch?.version ?? 0n}}, current ` +
        `{conf_ver: ${cur?.confVer ?? 0n}, version: ${cur?.version ?? 0n}}`,
    );
  }
}

/** A key of the request lies outside the region's range (TiKV `KeyNotInRegion`). */
export class KeyNotInRegionError extends TikvError {
  readonly code = 'KV:Raftstore:KeyNotInRegion';
  constructor(
    readonly key: Uint8Array,
    readonly region: metapb.Region,
  ) {
    super(
      `Key ${toHex(key)} is not in region ${region.id} [${toHex(region.startKey)}, ${toHex(region.endKey)})`,
    );
  }
}

/** The request was routed to another store id (TiKV `StoreNotMatch`). */
export class StoreNotMatchError extends TikvError {
  readonly code = 'KV:Raftstore:StoreNotMatch';
  constructor(
    readonly requestStoreId: bigint,
    readonly actualStoreId: bigint,
  ) {
    super(`Store id does not match: request ${requestStoreId}, actual ${actualStoreId}`);
  }
}

/** The peer id in the request is not this store's peer of the region (TiKV `MismatchPeerId`). */
export class MismatchPeerIdError extends TikvError {
  readonly code = 'KV:Raftstore:MismatchPeerId';
  constructor(
    readonly requestPeerId: bigint,
    readonly storePeerId: bigint,
  ) {
    super(`Peer id does not match: request ${requestPeerId}, store ${storePeerId}`);
  }
}

/** A write larger than `raftstore.raft-entry-max-size` (TiKV `RaftEntryTooLarge`). */
export class RaftEntryTooLargeError extends TikvError {
  readonly code = 'KV:Raftstore:EntryTooLarge';
  constructor(
    readonly regionId: bigint,
    readonly entrySizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `Raft entry of region ${regionId} is too large: ${entrySizeBytes} bytes, limit ${limitBytes}`,
    );
  }
}

/** The data directory belongs to another cluster than the PD it was pointed at. */
export class ClusterIdMismatchError extends TikvError {
  readonly code = 'KV:Server:ClusterIdMismatch';
  constructor(
    readonly localClusterId: bigint,
    readonly pdClusterId: bigint,
  ) {
    super(
      `Cluster id mismatch: the data directory belongs to cluster ${localClusterId} but PD serves cluster ${pdClusterId}; ` +
        'you are trying to connect to another cluster, point --pd at the right cluster or use an empty --data-dir',
    );
  }
}

/** The request is malformed (bad keys, unknown enum values, bad ranges). */
export class InvalidArgumentError extends TikvError {
  readonly code = 'KV:Server:InvalidArgument';
}

/** A request failed on purpose by a `return` task of a `kv_service::*` failpoint. */
export class InjectedFailureError extends TikvError {
  readonly code = 'KV:Server:InjectedFailure';
  constructor(point: string) {
    super(`Request failed: injected by failpoint ${point}`);
  }
}

/**
 * The one mapping from typed errors to `errorpb.Error` (STYLE.md §5): region errors of the store
 * and storage's scheduler-busy. Returns undefined for every other error (those become the
 * response's `error` string or `KeyError`).
 */
export function toRegionError(e: unknown): errorpb.Error | undefined {
  if (e instanceof RegionNotFoundError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      regionNotFound: { regionId: e.regionId },
    });
  }
  if (e instanceof EpochNotMatchError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      epochNotMatch: { currentRegions: [...e.currentRegions] },
    });
  }
  if (e instanceof KeyNotInRegionError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      keyNotInRegion: {
        key: e.key,
        regionId: e.region.id,
        startKey: e.region.startKey,
        endKey: e.region.endKey,
      },
    });
  }
  if (e instanceof StoreNotMatchError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      storeNotMatch: { requestStoreId: e.requestStoreId, actualStoreId: e.actualStoreId },
    });
  }
  if (e instanceof MismatchPeerIdError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      mismatchPeerId: { requestPeerId: e.requestPeerId, storePeerId: e.storePeerId },
    });
  }
  if (e instanceof RaftEntryTooLargeError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      raftEntryTooLarge: { regionId: e.regionId, entrySize: BigInt(e.entrySizeBytes) },
    });
  }
  if (e instanceof SchedTooBusyError) {
    return errorpb.Error.fromPartial({
      message: e.message,
      serverIsBusy: { reason: 'scheduler is busy', backoffMs: 0n },
    });
  }
  return undefined;
}
