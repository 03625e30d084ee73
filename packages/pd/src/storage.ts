import { CF_DEFAULT, type KvEngine } from '@tikv-ts/engine-traits';
import { metapb } from '@tikv-ts/proto';

// Persistence layout of PD's state in a KvEngine (column family `default`). The key names follow
// PD's own etcd layout (`/pd/<cluster id>/raft/s/<store id>` …) so that a reader who knows PD
// recognises them. Numbers are 8-byte big-endian unsigned; metadata is protobuf; ids in keys are
// zero-padded to 20 decimal digits so keys sort by id. Every write is synced (fsync) before the
// call resolves: PD acknowledges nothing that a crash could lose.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Key of the cluster id: the only key outside the `/pd/<cluster id>/` namespace. */
export const CLUSTER_ID_KEY = '/pd/cluster_id';

function pad20(id: bigint): string {
  return id.toString().padStart(20, '0');
}

function u64ToBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

function bytesToU64(b: Uint8Array): bigint {
  if (b.length !== 8) throw new RangeError(`Expected 8 bytes for a u64, got ${b.length}`);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
}

function prefixEnd(prefix: string): Uint8Array {
  const b = encoder.encode(prefix);
  const out = b.slice();
  // The prefixes used here end with '/', so incrementing the last byte never overflows.
  out[out.length - 1] = (out[out.length - 1] ?? 0) + 1;
  return out;
}

/** A service safe point as persisted (PD's `ServiceSafePoint`). */
export interface ServiceSafePoint {
  /** The service's id (e.g. "gc_worker", "br-…", "ticdc-…"). */
  readonly serviceId: string;
  /** Unix seconds after which the safe point no longer binds; `Number.MAX_SAFE_INTEGER` for never. */
  readonly expiredAtSec: number;
  /** The safe point (a TSO timestamp). */
  readonly safePoint: bigint;
}

/** One key of the etcd v3 key space PD serves, with its revisions. */
export interface EtcdEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly createRevision: bigint;
  readonly modRevision: bigint;
  readonly version: bigint;
}

/**
 * PD's persisted state on a {@link KvEngine}: cluster id, TSO window, id allocator end, cluster
 * bootstrap record, stores, regions, cluster config, GC safe points and the etcd key space.
 *
 * Every write is a synced write batch: when a `save*` promise resolves, the data survives a
 * process kill and a machine crash. Reads see every write that resolved before. Not safe to use
 * after the engine is closed (engine errors propagate).
 */
export class PdStorage {
  readonly #engine: KvEngine;
  #clusterId = 0n;

  constructor(engine: KvEngine) {
    this.#engine = engine;
  }

  /** The engine this storage writes to. */
  get engine(): KvEngine {
    return this.#engine;
  }

  /** The cluster id the `/pd/<id>/…` keys use; set by {@link setClusterId} (0 before). */
  get clusterId(): bigint {
    return this.#clusterId;
  }

  /** Loads the persisted cluster id, or `undefined` on a fresh data directory. */
  async loadClusterId(): Promise<bigint | undefined> {
    const v = await this.#engine.get(CF_DEFAULT, encoder.encode(CLUSTER_ID_KEY));
    return v === undefined ? undefined : bytesToU64(v);
  }

  /** Persists the cluster id and uses it for every later key. */
  async saveClusterId(id: bigint): Promise<void> {
    await this.#engine.put(CF_DEFAULT, encoder.encode(CLUSTER_ID_KEY), u64ToBytes(id), { sync: true });
    this.#clusterId = id;
  }

  /** Uses `id` for the `/pd/<id>/…` keys without writing it (after {@link loadClusterId}). */
  setClusterId(id: bigint): void {
    this.#clusterId = id;
  }

  #key(suffix: string): string {
    return `/pd/${this.#clusterId}/${suffix}`;
  }

  async #getU64(key: string): Promise<bigint | undefined> {
    const v = await this.#engine.get(CF_DEFAULT, encoder.encode(key));
    return v === undefined ? undefined : bytesToU64(v);
  }

  async #putU64(key: string, value: bigint): Promise<void> {
    await this.#engine.put(CF_DEFAULT, encoder.encode(key), u64ToBytes(value), { sync: true });
  }

  /** The end (exclusive, ms) of the last persisted TSO window, or `undefined` if none. */
  loadTimestampWindow(): Promise<bigint | undefined> {
    return this.#getU64(this.#key('timestamp'));
  }

  /** Persists the end (ms) of the TSO window; resolves once it is durable. */
  saveTimestampWindow(endMs: bigint): Promise<void> {
    return this.#putU64(this.#key('timestamp'), endMs);
  }

  /** The end (inclusive) of the last persisted id batch, or `undefined` if none. */
  loadAllocIdEnd(): Promise<bigint | undefined> {
    return this.#getU64(this.#key('alloc_id'));
  }

  /** Persists the end of the id batch; resolves once it is durable. */
  saveAllocIdEnd(end: bigint): Promise<void> {
    return this.#putU64(this.#key('alloc_id'), end);
  }

  /** The bootstrap record (`metapb.Cluster`), or `undefined` if the cluster is not bootstrapped. */
  async loadClusterMeta(): Promise<metapb.Cluster | undefined> {
    const v = await this.#engine.get(CF_DEFAULT, encoder.encode(this.#key('raft')));
    return v === undefined ? undefined : metapb.Cluster.decode(v);
  }

  /** Persists the cluster record (bootstrap, `PutClusterConfig`). */
  async saveClusterMeta(meta: metapb.Cluster): Promise<void> {
    await this.#engine.put(CF_DEFAULT, encoder.encode(this.#key('raft')), metapb.Cluster.encode(meta).finish(), { sync: true });
  }

  /**
   * Bootstraps atomically: the cluster record, the first store and the first region in one
   * synced batch, so a crash leaves either all of them or none.
   */
  async saveBootstrap(meta: metapb.Cluster, store: metapb.Store, region: metapb.Region): Promise<void> {
    const wb = this.#engine.writeBatch();
    wb.put(CF_DEFAULT, encoder.encode(this.#key('raft')), metapb.Cluster.encode(meta).finish());
    wb.put(CF_DEFAULT, this.#storeKey(store.id), metapb.Store.encode(store).finish());
    wb.put(CF_DEFAULT, this.#regionKey(region.id), metapb.Region.encode(region).finish());
    await wb.write({ sync: true });
  }

  #storeKey(id: bigint): Uint8Array {
    return encoder.encode(this.#key(`raft/s/${pad20(id)}`));
  }

  #regionKey(id: bigint): Uint8Array {
    return encoder.encode(this.#key(`raft/r/${pad20(id)}`));
  }

  /** Persists a store's metadata. */
  async saveStore(store: metapb.Store): Promise<void> {
    await this.#engine.put(CF_DEFAULT, this.#storeKey(store.id), metapb.Store.encode(store).finish(), { sync: true });
  }

  /** Every persisted store, ordered by id. */
  async loadStores(): Promise<metapb.Store[]> {
    const prefix = this.#key('raft/s/');
    const entries = await this.#engine.scan(CF_DEFAULT, { lowerBound: encoder.encode(prefix), upperBound: prefixEnd(prefix) });
    return entries.map((e) => metapb.Store.decode(e.value));
  }

  /** Persists regions and removes others, in one synced batch (a heartbeat that replaced overlaps). */
  async saveRegions(put: readonly metapb.Region[], remove: readonly bigint[] = []): Promise<void> {
    const wb = this.#engine.writeBatch();
    for (const id of remove) wb.delete(CF_DEFAULT, this.#regionKey(id));
    for (const r of put) wb.put(CF_DEFAULT, this.#regionKey(r.id), metapb.Region.encode(r).finish());
    await wb.write({ sync: true });
  }

  /** Every persisted region, ordered by id. */
  async loadRegions(): Promise<metapb.Region[]> {
    const prefix = this.#key('raft/r/');
    const entries = await this.#engine.scan(CF_DEFAULT, { lowerBound: encoder.encode(prefix), upperBound: prefixEnd(prefix) });
    return entries.map((e) => metapb.Region.decode(e.value));
  }

  /** The persisted PD configuration (JSON text written by {@link saveConfig}), if any. */
  async loadConfig(): Promise<unknown> {
    const v = await this.#engine.get(CF_DEFAULT, encoder.encode(this.#key('config')));
    return v === undefined ? undefined : (JSON.parse(decoder.decode(v)) as unknown);
  }

  /** Persists the PD configuration as JSON. */
  async saveConfig(config: unknown): Promise<void> {
    await this.#engine.put(CF_DEFAULT, encoder.encode(this.#key('config')), encoder.encode(JSON.stringify(config)), { sync: true });
  }

  /** The GC safe point (0 when never set). */
  async loadGcSafePoint(): Promise<bigint> {
    return (await this.#getU64(this.#key('gc/safe_point'))) ?? 0n;
  }

  /** Persists the GC safe point. */
  saveGcSafePoint(safePoint: bigint): Promise<void> {
    return this.#putU64(this.#key('gc/safe_point'), safePoint);
  }

  /** Every persisted service safe point (expired ones included), ordered by service id bytes. */
  async loadServiceSafePoints(): Promise<ServiceSafePoint[]> {
    const prefix = this.#key('gc/safe_point/service/');
    const entries = await this.#engine.scan(CF_DEFAULT, { lowerBound: encoder.encode(prefix), upperBound: prefixEnd(prefix) });
    return entries.map((e) => {
      const o = JSON.parse(decoder.decode(e.value)) as { service_id: string; expired_at: number; safe_point: string };
      return { serviceId: o.service_id, expiredAtSec: o.expired_at, safePoint: BigInt(o.safe_point) };
    });
  }

  /** Persists one service safe point. */
  async saveServiceSafePoint(sp: ServiceSafePoint): Promise<void> {
    const value = JSON.stringify({ service_id: sp.serviceId, expired_at: sp.expiredAtSec, safe_point: sp.safePoint.toString() });
    await this.#engine.put(CF_DEFAULT, encoder.encode(this.#key(`gc/safe_point/service/${sp.serviceId}`)), encoder.encode(value), {
      sync: true,
    });
  }

  /** Removes one service safe point. */
  async removeServiceSafePoint(serviceId: string): Promise<void> {
    await this.#engine.delete(CF_DEFAULT, encoder.encode(this.#key(`gc/safe_point/service/${serviceId}`)), { sync: true });
  }

  // The etcd key space: keys are stored under `/pd/<id>/etcd/kv/` + raw key; values carry
  // create revision, mod revision and version (8 bytes each) before the value.

  #etcdPrefix(): Uint8Array {
    return encoder.encode(this.#key('etcd/kv/'));
  }

  /** The current etcd revision (1 on a fresh store, as etcd starts). */
  async loadEtcdRevision(): Promise<bigint> {
    return (await this.#getU64(this.#key('etcd/revision'))) ?? 1n;
  }

  /** Entries of the etcd key space in `[start, end)` (`end` undefined: just `start`; empty: to the end). */
  async etcdRange(start: Uint8Array, end: Uint8Array | undefined, limit: number): Promise<EtcdEntry[]> {
    const prefix = this.#etcdPrefix();
    const lower = concat(prefix, start);
    let upper: Uint8Array;
    if (end === undefined) {
      upper = concat(lower, new Uint8Array([0]));
    } else if (end.length === 0) {
      upper = prefixEnd(this.#key('etcd/kv/'));
    } else {
      upper = concat(prefix, end);
    }
    const entries = await this.#engine.scan(CF_DEFAULT, { lowerBound: lower, upperBound: upper, ...(limit > 0 ? { limit } : {}) });
    return entries.map((e) => decodeEtcdEntry(e.key.subarray(prefix.length), e.value));
  }

  /** Writes one etcd key and the new revision atomically; returns the entry written. */
  async etcdPut(key: Uint8Array, value: Uint8Array, revision: bigint, previous: EtcdEntry | undefined): Promise<EtcdEntry> {
    const entry: EtcdEntry = {
      key: key.slice(),
      value: value.slice(),
      createRevision: previous?.createRevision ?? revision,
      modRevision: revision,
      version: (previous?.version ?? 0n) + 1n,
    };
    const wb = this.#engine.writeBatch();
    wb.put(CF_DEFAULT, concat(this.#etcdPrefix(), key), encodeEtcdEntry(entry));
    wb.put(CF_DEFAULT, encoder.encode(this.#key('etcd/revision')), u64ToBytes(revision));
    await wb.write({ sync: true });
    return entry;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function encodeEtcdEntry(e: EtcdEntry): Uint8Array {
  const out = new Uint8Array(24 + e.value.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, e.createRevision);
  dv.setBigUint64(8, e.modRevision);
  dv.setBigUint64(16, e.version);
  out.set(e.value, 24);
  return out;
}

function decodeEtcdEntry(key: Uint8Array, v: Uint8Array): EtcdEntry {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return {
    key: key.slice(),
    createRevision: dv.getBigUint64(0),
    modRevision: dv.getBigUint64(8),
    version: dv.getBigUint64(16),
    value: v.slice(24),
  };
}
