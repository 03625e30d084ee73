// The key space of a TiKV store (tikv components/keys): user data lives under the data prefix
// 'z', and per-store and per-region local state under the local prefix 0x01:
//
//   0x01 0x01                                  store ident
//   0x01 0x02                                  prepare bootstrap (region being bootstrapped)
//   0x01 0x03                                  recover-from-raft-db marker
//   0x01 0x02 <region_id u64 BE> 0x01 <index u64 BE>   raft log entry
//   0x01 0x02 <region_id u64 BE> 0x02          raft state (RaftLocalState)
//   0x01 0x02 <region_id u64 BE> 0x03          apply state (RaftApplyState)
//   0x01 0x02 <region_id u64 BE> 0x04          snapshot raft state
//   0x01 0x03 <region_id u64 BE> 0x01          region state (RegionLocalState)
//   'z' <key>                                  user data
//
// Big-endian ids and indexes keep each region's keys together and its log in index order.
// The exported key constants are shared arrays: never mutate them (copy with `new Uint8Array(k)` first).
import { concatBytes, hasPrefix } from './bytes';
import { CodecError } from './errors';
import { MAX_U64, writeU64BE } from './number';

/** The smallest key (empty). */
export const MIN_KEY: Uint8Array = new Uint8Array(0);
/** A key above every local and data key (`[0xff]`). */
export const MAX_KEY: Uint8Array = Uint8Array.of(0xff);

/** First byte of every local (store- or region-state) key. Local keys lie in `[0x01, 0x02)`. */
export const LOCAL_PREFIX = 0x01;
/** Lower bound of local keys (`[0x01]`). */
export const LOCAL_MIN_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX);
/** Exclusive upper bound of local keys (`[0x02]`). */
export const LOCAL_MAX_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX + 1);

/** First byte of every data key: `'z'` (0x7a). */
export const DATA_PREFIX = 0x7a;
/** The data prefix as a key (`"z"`). */
export const DATA_PREFIX_KEY: Uint8Array = Uint8Array.of(DATA_PREFIX);
/** Lower bound of data keys (`"z"`, the data key of the empty key). */
export const DATA_MIN_KEY: Uint8Array = Uint8Array.of(DATA_PREFIX);
/** Exclusive upper bound of data keys (`"{"`, 0x7b); the data end key of an unbounded region. */
export const DATA_MAX_KEY: Uint8Array = Uint8Array.of(DATA_PREFIX + 1);

/** Key of the store's `StoreIdent` (`01 01`). */
export const STORE_IDENT_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, 0x01);
/** Key of the region being bootstrapped, written before the cluster is bootstrapped (`01 02`). */
export const PREPARE_BOOTSTRAP_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, 0x02);
/** Key of TiKV's recover-from-raft-db marker (`01 03`). */
export const RECOVER_FROM_RAFT_DB_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, 0x03);

/** Second byte of per-region raft keys (log, raft state, apply state). */
export const REGION_RAFT_PREFIX = 0x02;
/** `01 02`: prefix of every per-region raft key. */
export const REGION_RAFT_PREFIX_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_RAFT_PREFIX);
/** Lower bound of per-region raft keys (`01 02`). */
export const REGION_RAFT_MIN_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_RAFT_PREFIX);
/** Exclusive upper bound of per-region raft keys (`01 03`). */
export const REGION_RAFT_MAX_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_RAFT_PREFIX + 1);
/** Second byte of per-region meta keys (region state). */
export const REGION_META_PREFIX = 0x03;
/** `01 03`: prefix of every per-region meta key. */
export const REGION_META_PREFIX_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX);
/** Lower bound of per-region meta keys (`01 03`). */
export const REGION_META_MIN_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX);
/** Exclusive upper bound of per-region meta keys (`01 04`). */
export const REGION_META_MAX_KEY: Uint8Array = Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX + 1);

/** Suffix (after region id) of raft log entry keys. */
export const RAFT_LOG_SUFFIX = 0x01;
/** Suffix of the raft state key (`RaftLocalState`). */
export const RAFT_STATE_SUFFIX = 0x02;
/** Suffix of the apply state key (`RaftApplyState`). */
export const APPLY_STATE_SUFFIX = 0x03;
/** Suffix of the snapshot raft state key. */
export const SNAPSHOT_RAFT_STATE_SUFFIX = 0x04;
/** Suffix (after region id, under the meta prefix) of the region state key (`RegionLocalState`). */
export const REGION_STATE_SUFFIX = 0x01;

/** Length of `prefix(2) + region id(8)`. */
const REGION_PREFIX_LENGTH = 10;
/** Length of `prefix(2) + region id(8) + suffix(1)`. */
const REGION_KEY_LENGTH = 11;
/** Length of `prefix(2) + region id(8) + suffix(1) + sub id(8)`. */
const REGION_SUB_KEY_LENGTH = 19;

function checkId(v: bigint, what: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) {
    throw new RangeError(`${what} ${String(v)} is not a u64 bigint`);
  }
}

function readU64(key: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(key[at + i] as number);
  return v;
}

function makeKey(prefix: Uint8Array, regionId: bigint, length: number, suffix?: number, subId?: bigint): Uint8Array {
  checkId(regionId, 'Region id');
  const key = new Uint8Array(length);
  key[0] = prefix[0] as number;
  key[1] = prefix[1] as number;
  writeU64BE(key, 2, regionId);
  if (suffix !== undefined) key[REGION_PREFIX_LENGTH] = suffix;
  if (subId !== undefined) writeU64BE(key, REGION_KEY_LENGTH, subId);
  return key;
}

/** `01 02 <regionId>`: prefix of all raft keys of a region (TiKV `region_raft_prefix`). */
export function regionRaftPrefix(regionId: bigint): Uint8Array {
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_PREFIX_LENGTH);
}

/** `01 03 <regionId>`: prefix of all meta keys of a region (TiKV `region_meta_prefix`). */
export function regionMetaPrefix(regionId: bigint): Uint8Array {
  return makeKey(REGION_META_PREFIX_KEY, regionId, REGION_PREFIX_LENGTH);
}

/**
 * `01 02 <regionId> 01 <index>` (19 bytes): key of a region's raft log entry (TiKV `raft_log_key`).
 *
 * @throws RangeError if an argument is not a u64 bigint
 */
export function raftLogKey(regionId: bigint, index: bigint): Uint8Array {
  checkId(index, 'Log index');
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_SUB_KEY_LENGTH, RAFT_LOG_SUFFIX, index);
}

/** `01 02 <regionId> 01` (11 bytes): prefix of a region's raft log keys (TiKV `raft_log_prefix`). */
export function raftLogPrefix(regionId: bigint): Uint8Array {
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_KEY_LENGTH, RAFT_LOG_SUFFIX);
}

/** `01 02 <regionId> 02`: key of a region's `RaftLocalState` (TiKV `raft_state_key`). */
export function raftStateKey(regionId: bigint): Uint8Array {
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_KEY_LENGTH, RAFT_STATE_SUFFIX);
}

/** `01 02 <regionId> 03`: key of a region's `RaftApplyState` (TiKV `apply_state_key`). */
export function applyStateKey(regionId: bigint): Uint8Array {
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_KEY_LENGTH, APPLY_STATE_SUFFIX);
}

/** `01 02 <regionId> 04`: key of a region's snapshot raft state (TiKV `snapshot_raft_state_key`). */
export function snapshotRaftStateKey(regionId: bigint): Uint8Array {
  return makeKey(REGION_RAFT_PREFIX_KEY, regionId, REGION_KEY_LENGTH, SNAPSHOT_RAFT_STATE_SUFFIX);
}

/** `01 03 <regionId> 01`: key of a region's `RegionLocalState` (TiKV `region_state_key`). */
export function regionStateKey(regionId: bigint): Uint8Array {
  return makeKey(REGION_META_PREFIX_KEY, regionId, REGION_KEY_LENGTH, REGION_STATE_SUFFIX);
}

function badLocalKey(code: 'KV:Codec:KeyLength' | 'KV:Codec:KeyPrefix', detail: string, key: Uint8Array): CodecError {
  return new CodecError(code, detail, { input: key, offset: 0 });
}

/**
 * Region id and log index of a key made by {@link raftLogKey} (TiKV `decode_raft_log_key`).
 *
 * @throws CodecError `KV:Codec:KeyLength` if the key is not 19 bytes, `KV:Codec:KeyPrefix` if it
 *   does not start with `01 02` or its suffix is not the raft log suffix
 */
export function decodeRaftLogKey(key: Uint8Array): { regionId: bigint; index: bigint } {
  if (key.length !== REGION_SUB_KEY_LENGTH) {
    throw badLocalKey('KV:Codec:KeyLength', `Raft log key must be ${REGION_SUB_KEY_LENGTH} bytes, got ${key.length}`, key);
  }
  if (!hasPrefix(key, REGION_RAFT_PREFIX_KEY) || key[REGION_PREFIX_LENGTH] !== RAFT_LOG_SUFFIX) {
    throw badLocalKey('KV:Codec:KeyPrefix', 'Not a raft log key', key);
  }
  return { regionId: readU64(key, 2), index: readU64(key, REGION_KEY_LENGTH) };
}

/**
 * Log index of a raft log key (TiKV `raft_log_index`): validates like {@link decodeRaftLogKey}.
 *
 * @throws CodecError as {@link decodeRaftLogKey}
 */
export function raftLogIndex(key: Uint8Array): bigint {
  return decodeRaftLogKey(key).index;
}

function decodeRegionKey(prefix: Uint8Array, key: Uint8Array, category: string): { regionId: bigint; suffix: number } {
  if (key.length !== REGION_KEY_LENGTH) {
    throw badLocalKey('KV:Codec:KeyLength', `Region ${category} key must be ${REGION_KEY_LENGTH} bytes, got ${key.length}`, key);
  }
  if (!hasPrefix(key, prefix)) {
    throw badLocalKey('KV:Codec:KeyPrefix', `Not a region ${category} key`, key);
  }
  return { regionId: readU64(key, 2), suffix: key[REGION_PREFIX_LENGTH] as number };
}

/**
 * Region id and suffix of an 11-byte region raft key (raft state, apply state, …) (TiKV
 * `decode_region_raft_key`).
 *
 * @throws CodecError `KV:Codec:KeyLength` unless 11 bytes, `KV:Codec:KeyPrefix` unless it starts
 *   with `01 02`
 */
export function decodeRegionRaftKey(key: Uint8Array): { regionId: bigint; suffix: number } {
  return decodeRegionKey(REGION_RAFT_PREFIX_KEY, key, 'raft');
}

/**
 * Region id and suffix of an 11-byte region meta key (TiKV `decode_region_meta_key`).
 *
 * @throws CodecError `KV:Codec:KeyLength` unless 11 bytes, `KV:Codec:KeyPrefix` unless it starts
 *   with `01 03`
 */
export function decodeRegionMetaKey(key: Uint8Array): { regionId: bigint; suffix: number } {
  return decodeRegionKey(REGION_META_PREFIX_KEY, key, 'meta');
}

/** Whether `key` is a data key, i.e. starts with `'z'` (TiKV `validate_data_key`). */
export function isDataKey(key: Uint8Array): boolean {
  return key.length > 0 && key[0] === DATA_PREFIX;
}

/** Whether `key` is a local key, i.e. starts with {@link LOCAL_PREFIX} (0x01). */
export function isLocalKey(key: Uint8Array): boolean {
  return key.length > 0 && key[0] === LOCAL_PREFIX;
}

/** `'z' + key`: the engine key of a user (or encoded transactional) key (TiKV `data_key`). */
export function dataKey(key: Uint8Array): Uint8Array {
  return concatBytes(DATA_PREFIX_KEY, key);
}

/**
 * The key without its `'z'` prefix (TiKV `origin_key`), as a view into `dataKey`.
 *
 * @throws CodecError `KV:Codec:KeyPrefix` if `dataKey` does not start with `'z'` (TiKV panics)
 */
export function originKey(dataKey: Uint8Array): Uint8Array {
  if (!isDataKey(dataKey)) {
    throw badLocalKey('KV:Codec:KeyPrefix', 'Not a data key (no "z" prefix)', dataKey);
  }
  return dataKey.subarray(1);
}

/**
 * The data key of a region end key (TiKV `data_end_key`): the empty end key (unbounded) maps to
 * {@link DATA_MAX_KEY}, any other key to `'z' + key`.
 */
export function dataEndKey(endKey: Uint8Array): Uint8Array {
  return endKey.length === 0 ? DATA_MAX_KEY.slice() : dataKey(endKey);
}

/**
 * Inverse of {@link dataEndKey} (TiKV `origin_end_key`): {@link DATA_MAX_KEY} maps to the empty
 * key, any other data key to its origin key (a view).
 *
 * @throws CodecError `KV:Codec:KeyPrefix` if the key is neither `DATA_MAX_KEY` nor a data key
 */
export function originEndKey(dataEndKey: Uint8Array): Uint8Array {
  if (dataEndKey.length === 1 && dataEndKey[0] === DATA_PREFIX + 1) return new Uint8Array(0);
  return originKey(dataEndKey);
}
