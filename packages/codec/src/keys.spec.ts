import fc from 'fast-check';
import { compareBytes, fromHex, hasPrefix, toHex } from './bytes';
import { CodecError } from './errors';
import {
  APPLY_STATE_SUFFIX,
  DATA_MAX_KEY,
  DATA_MIN_KEY,
  DATA_PREFIX,
  LOCAL_MAX_KEY,
  LOCAL_MIN_KEY,
  LOCAL_PREFIX,
  PREPARE_BOOTSTRAP_KEY,
  RAFT_STATE_SUFFIX,
  REGION_META_MAX_KEY,
  REGION_META_MIN_KEY,
  REGION_RAFT_MAX_KEY,
  REGION_RAFT_MIN_KEY,
  REGION_STATE_SUFFIX,
  STORE_IDENT_KEY,
  applyStateKey,
  dataEndKey,
  dataKey,
  decodeRaftLogKey,
  decodeRegionMetaKey,
  decodeRegionRaftKey,
  isDataKey,
  isLocalKey,
  originEndKey,
  originKey,
  raftLogIndex,
  raftLogKey,
  raftLogPrefix,
  raftStateKey,
  regionMetaPrefix,
  regionRaftPrefix,
  regionStateKey,
  snapshotRaftStateKey,
} from './keys';
import { MAX_U64 } from './number';
import { assertProperty } from './testdata/property';

const arbId = fc.oneof(fc.bigInt({ min: 0n, max: MAX_U64 }), fc.constantFrom(0n, 1n, 1024n, MAX_U64));
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function codecErrorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (e: unknown) {
    if (e instanceof CodecError) return e;
    throw new Error(`Expected a CodecError, got ${String(e)}`);
  }
  throw new Error('Expected a CodecError, got a result');
}

describe('TiKV key layout golden vectors (components/keys)', () => {
  it('constants', () => {
    expect(LOCAL_PREFIX).toBe(0x01);
    expect(DATA_PREFIX).toBe('z'.charCodeAt(0));
    expect(toHex(LOCAL_MIN_KEY)).toBe('01');
    expect(toHex(LOCAL_MAX_KEY)).toBe('02');
    expect(toHex(DATA_MIN_KEY)).toBe('7a');
    expect(toHex(DATA_MAX_KEY)).toBe('7b');
    expect(toHex(STORE_IDENT_KEY)).toBe('0101');
    expect(toHex(PREPARE_BOOTSTRAP_KEY)).toBe('0102');
    expect(toHex(REGION_RAFT_MIN_KEY)).toBe('0102');
    expect(toHex(REGION_RAFT_MAX_KEY)).toBe('0103');
    expect(toHex(REGION_META_MIN_KEY)).toBe('0103');
    expect(toHex(REGION_META_MAX_KEY)).toBe('0104');
  });

  it('region keys', () => {
    expect(toHex(regionRaftPrefix(1n))).toBe('01020000000000000001');
    expect(toHex(raftLogPrefix(1n))).toBe('0102000000000000000101');
    expect(toHex(raftLogKey(1n, 5n))).toBe('01020000000000000001010000000000000005');
    expect(toHex(raftStateKey(2n))).toBe('0102000000000000000202');
    expect(toHex(applyStateKey(2n))).toBe('0102000000000000000203');
    expect(toHex(snapshotRaftStateKey(2n))).toBe('0102000000000000000204');
    expect(toHex(regionMetaPrefix(3n))).toBe('01030000000000000003');
    expect(toHex(regionStateKey(3n))).toBe('0103000000000000000301');
    expect(toHex(raftLogKey(MAX_U64, MAX_U64))).toBe('0102ffffffffffffffff01ffffffffffffffff');
  });

  it('data keys', () => {
    const abc = new TextEncoder().encode('abc');
    expect(toHex(dataKey(abc))).toBe('7a616263');
    expect(originKey(dataKey(abc))).toEqual(abc);
    expect(dataEndKey(new Uint8Array(0))).toEqual(DATA_MAX_KEY);
    expect(dataEndKey(abc)).toEqual(dataKey(abc));
    expect(originEndKey(DATA_MAX_KEY)).toEqual(new Uint8Array(0));
    expect(originEndKey(dataKey(abc))).toEqual(abc);
    expect(isDataKey(dataKey(new Uint8Array(0)))).toBe(true);
    expect(isDataKey(abc)).toBe(false);
    expect(isLocalKey(raftStateKey(1n))).toBe(true);
    expect(isLocalKey(dataKey(abc))).toBe(false);
  });
});

describe('region key properties', () => {
  it('every region key lies under its prefixes and decodes back', () => {
    assertProperty(
      fc.property(arbId, arbId, (id, index) => {
        const raftPrefix = regionRaftPrefix(id);
        const log = raftLogKey(id, index);
        const decodedLog = decodeRaftLogKey(log);
        return (
          hasPrefix(log, raftLogPrefix(id)) &&
          hasPrefix(raftLogPrefix(id), raftPrefix) &&
          hasPrefix(raftStateKey(id), raftPrefix) &&
          hasPrefix(applyStateKey(id), raftPrefix) &&
          hasPrefix(regionStateKey(id), regionMetaPrefix(id)) &&
          decodedLog.regionId === id &&
          decodedLog.index === index &&
          raftLogIndex(log) === index &&
          decodeRegionRaftKey(raftStateKey(id)).suffix === RAFT_STATE_SUFFIX &&
          decodeRegionRaftKey(applyStateKey(id)).regionId === id &&
          decodeRegionRaftKey(applyStateKey(id)).suffix === APPLY_STATE_SUFFIX &&
          decodeRegionMetaKey(regionStateKey(id)).regionId === id &&
          decodeRegionMetaKey(regionStateKey(id)).suffix === REGION_STATE_SUFFIX &&
          compareBytes(LOCAL_MIN_KEY, log) < 0 &&
          compareBytes(log, LOCAL_MAX_KEY) < 0 &&
          compareBytes(REGION_RAFT_MIN_KEY, log) <= 0 &&
          compareBytes(log, REGION_RAFT_MAX_KEY) < 0 &&
          compareBytes(REGION_META_MIN_KEY, regionStateKey(id)) <= 0 &&
          compareBytes(regionStateKey(id), REGION_META_MAX_KEY) < 0
        );
      }),
    );
  });

  it('raft log keys sort by (region id, index); state keys by region id', () => {
    assertProperty(
      fc.property(arbId, arbId, arbId, arbId, (r1, i1, r2, i2) => {
        const expected = r1 !== r2 ? cmp(r1, r2) : cmp(i1, i2);
        return (
          sign(compareBytes(raftLogKey(r1, i1), raftLogKey(r2, i2))) === expected &&
          sign(compareBytes(applyStateKey(r1), applyStateKey(r2))) === cmp(r1, r2) &&
          sign(compareBytes(regionStateKey(r1), regionStateKey(r2))) === cmp(r1, r2)
        );
      }),
    );
  });

  it('malformed local keys give typed errors (TiKV test_raft_log_key)', () => {
    const state = raftStateKey(1n);
    // Wrong length.
    expect(codecErrorOf(() => decodeRaftLogKey(state)).code).toBe('KV:Codec:KeyLength');
    // Right length, wrong suffix.
    expect(codecErrorOf(() => decodeRaftLogKey(fromHex(toHex(state) + '0000000000000002'))).code).toBe('KV:Codec:KeyPrefix');
    // Right length, wrong prefix.
    expect(codecErrorOf(() => decodeRaftLogKey(fromHex(toHex(regionStateKey(1n)) + '0000000000000002'))).code).toBe('KV:Codec:KeyPrefix');
    expect(codecErrorOf(() => raftLogIndex(new Uint8Array(3))).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => decodeRegionRaftKey(regionStateKey(1n))).code).toBe('KV:Codec:KeyPrefix');
    expect(codecErrorOf(() => decodeRegionMetaKey(applyStateKey(1n))).code).toBe('KV:Codec:KeyPrefix');
    expect(codecErrorOf(() => decodeRegionMetaKey(regionMetaPrefix(1n))).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => originKey(Uint8Array.of(1, 2))).code).toBe('KV:Codec:KeyPrefix');
    expect(codecErrorOf(() => originKey(new Uint8Array(0))).code).toBe('KV:Codec:KeyPrefix');
    expect(codecErrorOf(() => originEndKey(new Uint8Array(0))).code).toBe('KV:Codec:KeyPrefix');
  });

  it('arbitrary bytes decode or throw a CodecError', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 21 }), (key) => {
        for (const f of [decodeRaftLogKey, decodeRegionRaftKey, decodeRegionMetaKey, originKey, originEndKey]) {
          try {
            f(key);
          } catch (e: unknown) {
            if (!(e instanceof CodecError)) return false;
          }
        }
        return true;
      }),
    );
  });

  it('ids must be u64 bigints', () => {
    expect(() => raftStateKey(-1n)).toThrow(RangeError);
    expect(() => raftLogKey(1n, MAX_U64 + 1n)).toThrow(RangeError);
  });
});
