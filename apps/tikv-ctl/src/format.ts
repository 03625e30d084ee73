// Output of tikv-ctl: JSON with bigints as decimal strings, bytes escaped, enums by name.
import { Key, decodeBytes, isDataKey } from '@tikv-ts/codec';
import { kvrpcpb, metapb, raft_serverpb, type debugpb } from '@tikv-ts/proto';
import type { ShowCf } from './args';
import { escape } from './escape';

/** A JSON-ready value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** snake_case of a camelCase field name (kvproto's JSON names). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Converts a decoded protobuf message (or any plain value) to JSON: snake_case field names,
 * bigint as a decimal string, bytes escaped, undefined fields dropped.
 */
export function toJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  if (value instanceof Uint8Array) return escape(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[snake(k)] = toJson(v);
    }
    return out;
  }
  return String(value);
}

function enumName(e: Record<number, string>, v: number): string {
  return e[v] ?? String(v);
}

function regionJson(r: metapb.Region): Json {
  return {
    id: r.id.toString(),
    start_key: escape(r.startKey),
    end_key: escape(r.endKey),
    region_epoch: toJson(r.regionEpoch),
    peers: r.peers.map((p) => ({
      id: p.id.toString(),
      store_id: p.storeId.toString(),
      role: enumName(metapb.PeerRole, p.role),
    })),
  };
}

/** `region` / `raft region`: the local states, absent ones as null (never made up). */
export function formatRegionInfo(regionId: bigint, info: debugpb.RegionInfoResponse): Json {
  const rls = info.regionLocalState;
  return {
    region_id: regionId.toString(),
    region_local_state:
      rls === undefined
        ? null
        : {
            state: enumName(raft_serverpb.PeerState, rls.state),
            region: rls.region === undefined ? null : regionJson(rls.region),
          },
    raft_local_state: toJson(info.raftLocalState),
    raft_apply_state: toJson(info.raftApplyState),
  };
}

/** The user key of a data key (`z` + memcomparable encoding), escaped; undefined if it is not one. */
export function rawKeyOf(dataKey: Uint8Array): string | undefined {
  if (!isDataKey(dataKey)) return undefined;
  try {
    const { value, bytesRead } = decodeBytes(dataKey, 1);
    return bytesRead === dataKey.length - 1 ? escape(value) : undefined;
  } catch {
    // Not memcomparable-encoded: there is no user key to show.
    return undefined;
  }
}

/** One key of `mvcc` / `scan`, limited to the CFs of `showCf`. */
export function formatMvcc(
  key: Uint8Array,
  info: kvrpcpb.MvccInfo,
  showCf: readonly ShowCf[],
): Json {
  const out: { [key: string]: Json } = { key: escape(key) };
  const raw = rawKeyOf(key);
  if (raw !== undefined) out['raw_key'] = raw;
  if (showCf.includes('lock')) {
    const l = info.lock;
    out['lock'] =
      l === undefined
        ? null
        : {
            type: enumName(kvrpcpb.Op, l.type),
            start_ts: l.startTs.toString(),
            primary: escape(l.primary),
            short_value: escape(l.shortValue),
            ttl: l.ttl.toString(),
            for_update_ts: l.forUpdateTs.toString(),
            txn_size: l.txnSize.toString(),
            use_async_commit: l.useAsyncCommit,
            secondaries: l.secondaries.map(escape),
          };
  }
  if (showCf.includes('write')) {
    out['writes'] = info.writes.map((w) => ({
      type: enumName(kvrpcpb.Op, w.type),
      start_ts: w.startTs.toString(),
      commit_ts: w.commitTs.toString(),
      short_value: escape(w.shortValue),
      ...(w.hasOverlappedRollback ? { has_overlapped_rollback: true } : {}),
      ...(w.hasGcFence ? { gc_fence: w.gcFence.toString() } : {}),
    }));
  }
  if (showCf.includes('default')) {
    out['values'] = info.values.map((v) => ({
      start_ts: v.startTs.toString(),
      value: escape(v.value),
    }));
  }
  return out;
}

/** `size`: bytes per CF and their total. */
export function formatSize(regionId: bigint, res: debugpb.RegionSizeResponse): Json {
  const cfs: { [cf: string]: Json } = {};
  let total = 0n;
  for (const e of res.entries) {
    cfs[e.cf] = e.size.toString();
    total += e.size;
  }
  return { region_id: regionId.toString(), sizes: cfs, total: total.toString() };
}

/** Pretty JSON for single results. */
export function pretty(j: Json): string {
  return `${JSON.stringify(j, null, 2)}\n`;
}

/** One compact JSON line, for streams of results. */
export function line(j: Json): string {
  return `${JSON.stringify(j)}\n`;
}

/** The encoded key of a raw user key (for `--encode`). */
export function encodeKey(raw: Uint8Array): Uint8Array {
  return Key.fromRaw(raw).asEncoded();
}
