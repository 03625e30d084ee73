import {
  PREPARE_BOOTSTRAP_KEY,
  REGION_META_MAX_KEY,
  REGION_META_MIN_KEY,
  REGION_STATE_SUFFIX,
  STORE_IDENT_KEY,
  compareBytes,
  decodeRegionMetaKey,
  regionStateKey,
} from '@tikv-ts/codec';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { PdAlreadyBootstrappedError, type PdClient } from '@tikv-ts/pd-client';
import { metapb, raft_serverpb, type kvrpcpb } from '@tikv-ts/proto';
import type { Logger } from '@tikv-ts/util';
import { ClusterIdMismatchError, InvalidArgumentError } from './errors';
import { RegionManager, cloneRegion, isKeyInRegion } from './region-manager';

/** What the node tells PD about itself (PutStore). */
export interface StoreInfo {
  /** gRPC address clients connect to (`--advertise-addr`, else `--addr`). */
  readonly address: string;
  /** Status HTTP address (`--advertise-status-addr`, else `--status-addr`). */
  readonly statusAddress: string;
  /** Raft address (empty: same as `address`). */
  readonly peerAddress?: string;
  readonly version: string;
  readonly gitHash?: string;
  readonly deployPath?: string;
  readonly labels?: readonly { key: string; value: string }[];
  /** Unix seconds of the process start. */
  readonly startTimestampSec: bigint;
}

/** Options of {@link Node.start}. */
export interface NodeOptions {
  /** Where the store identity and region states live (CF `raft`). */
  readonly kv: KvEngine;
  readonly pd: PdClient;
  readonly logger: Logger;
  readonly store: StoreInfo;
  /** The storage's API version, recorded in the store identity. */
  readonly apiVersion: kvrpcpb.APIVersion;
  /** `raftstore.raft-entry-max-size`. */
  readonly raftEntryMaxSizeBytes: number;
}

const SYNC = { sync: true } as const;

function encodeIdent(ident: raft_serverpb.StoreIdent): Uint8Array {
  return raft_serverpb.StoreIdent.encode(ident).finish();
}

function encodeRegionState(region: metapb.Region): Uint8Array {
  return raft_serverpb.RegionLocalState.encode(
    raft_serverpb.RegionLocalState.fromPartial({ state: raft_serverpb.PeerState.Normal, region }),
  ).finish();
}

/**
 * One store of the cluster as TiKV's `Node` runs it, without replication: it owns the store
 * identity and the region states in the KV engine's `raft` column family (TiKV's local key
 * layout), bootstraps the cluster through PD on a fresh data directory, registers the store
 * (PutStore), and keeps the {@link RegionManager} that region checks read.
 *
 * Start-up (TiKV `Node::start`):
 * - no identity: allocate a store id from PD and persist `StoreIdent{cluster_id, store_id,
 *   api_version}`; if PD is not bootstrapped, allocate the first region (all keys, one peer on
 *   this store), persist it as "prepare bootstrap", call PD Bootstrap, then persist its
 *   `RegionLocalState` and drop the prepare key (a crash in between is finished on restart);
 * - an identity from another cluster: {@link ClusterIdMismatchError};
 * - otherwise: load every Normal `RegionLocalState`.
 */
export class Node {
  readonly #kv: KvEngine;
  readonly #pd: PdClient;
  readonly #logger: Logger;
  readonly #clusterId: bigint;
  readonly #storeId: bigint;
  readonly #regions: RegionManager;
  readonly #store: metapb.Store;

  private constructor(kv: KvEngine, pd: PdClient, logger: Logger, ident: raft_serverpb.StoreIdent, regions: RegionManager, store: metapb.Store) {
    this.#kv = kv;
    this.#pd = pd;
    this.#logger = logger;
    this.#clusterId = ident.clusterId;
    this.#storeId = ident.storeId;
    this.#regions = regions;
    this.#store = store;
  }

  /**
   * Bootstraps or loads the store and registers it with PD (PutStore).
   * @throws ClusterIdMismatchError when the data directory belongs to another cluster; PD errors
   *   (`PdUnavailableError` …) pass through
   */
  static async start(options: NodeOptions): Promise<Node> {
    const { kv, pd, logger } = options;
    const clusterId = pd.getClusterId();
    let ident = await loadIdent(kv);
    if (ident === undefined) {
      const storeId = await pd.allocId();
      ident = raft_serverpb.StoreIdent.fromPartial({ clusterId, storeId, apiVersion: options.apiVersion });
      const wb = kv.writeBatch();
      wb.put('raft', STORE_IDENT_KEY, encodeIdent(ident));
      await wb.write(SYNC);
      logger.info('store identity created', { 'cluster-id': clusterId.toString(), 'store-id': storeId.toString() });
    } else if (ident.clusterId !== clusterId) {
      throw new ClusterIdMismatchError(ident.clusterId, clusterId);
    }
    const storeId = ident.storeId;
    const s = options.store;
    const store = metapb.Store.fromPartial({
      id: storeId,
      address: s.address,
      statusAddress: s.statusAddress,
      peerAddress: s.peerAddress ?? s.address,
      version: s.version,
      gitHash: s.gitHash ?? '',
      deployPath: s.deployPath ?? '',
      startTimestamp: s.startTimestampSec,
      labels: (s.labels ?? []).map((l) => ({ key: l.key, value: l.value })),
      state: metapb.StoreState.Up,
    });
    await bootstrapClusterIfNeeded(kv, pd, logger, store);
    const regions = new RegionManager(storeId, { raftEntryMaxSizeBytes: options.raftEntryMaxSizeBytes });
    regions.upsert(...(await loadRegions(kv)));
    await pd.putStore(store);
    logger.info('store started', { 'store-id': storeId.toString(), regions: regions.size, address: s.address });
    return new Node(kv, pd, logger, ident, regions, store);
  }

  get clusterId(): bigint {
    return this.#clusterId;
  }

  get storeId(): bigint {
    return this.#storeId;
  }

  /** The store's regions (what region checks read). */
  get regions(): RegionManager {
    return this.#regions;
  }

  /** The store as registered with PD. */
  get store(): metapb.Store {
    return this.#store;
  }

  /**
   * Splits a region at `splitKeys` (boundary form: raw keys for raw data, encoded keys for
   * transactional data) on this store alone (TiKV batch split with `right_derive`: the last part
   * keeps the region id, every part gets version + number of new regions). Asks PD for the new
   * ids, persists every region state in one synced batch, then reports the split to PD.
   * Returns the regions in key order.
   * @throws InvalidArgumentError when a split key is outside the region's interior
   */
  async splitRegion(regionId: bigint, splitKeys: readonly Uint8Array[]): Promise<metapb.Region[]> {
    const region = this.#regions.get(regionId);
    if (region === undefined) throw new InvalidArgumentError(`Region ${regionId} is not on this store`);
    const keys = [...splitKeys].sort(compareBytes).filter((k, i, a) => i === 0 || compareBytes(k, a[i - 1] as Uint8Array) !== 0);
    if (keys.length === 0) throw new InvalidArgumentError('No split key');
    for (const k of keys) {
      if (k.length === 0 || compareBytes(k, region.startKey) <= 0 || !isKeyInRegion(k, region)) {
        throw new InvalidArgumentError(`Split key ${Buffer.from(k).toString('hex')} is not inside region ${regionId}`);
      }
    }
    const ids = await this.#pd.askBatchSplit(region, keys.length);
    if (ids.length !== keys.length) throw new InvalidArgumentError(`PD gave ${ids.length} split ids for ${keys.length} keys`);
    const epoch = region.regionEpoch ?? { confVer: 0n, version: 0n };
    const version = epoch.version + BigInt(keys.length);
    const out: metapb.Region[] = [];
    let start = region.startKey;
    for (let i = 0; i < keys.length; i++) {
      const id = ids[i] as { newRegionId: bigint; newPeerIds: bigint[] };
      const peers = region.peers.map((p, j) => metapb.Peer.fromPartial({ ...p, id: id.newPeerIds[j] ?? 0n }));
      out.push(
        metapb.Region.fromPartial({
          id: id.newRegionId,
          startKey: start,
          endKey: keys[i] as Uint8Array,
          regionEpoch: { confVer: epoch.confVer, version },
          peers,
        }),
      );
      start = keys[i] as Uint8Array;
    }
    const derived = cloneRegion(region);
    derived.startKey = start;
    derived.regionEpoch = { confVer: epoch.confVer, version };
    out.push(derived);
    const wb = this.#kv.writeBatch();
    for (const r of out) wb.put('raft', regionStateKey(r.id), encodeRegionState(r));
    await wb.write(SYNC);
    this.#regions.upsert(...out);
    this.#logger.info('region split', { 'region-id': regionId.toString(), 'new-regions': out.map((r) => r.id.toString()).join(',') });
    try {
      await this.#pd.reportBatchSplit(out);
    } catch (e: unknown) {
      // The split is durable here; PD learns it from the next region heartbeats.
      this.#logger.warn('report batch split failed', { error: e instanceof Error ? e.message : String(e) });
    }
    return out;
  }
}

async function loadIdent(kv: KvEngine): Promise<raft_serverpb.StoreIdent | undefined> {
  const bytes = await kv.get('raft', STORE_IDENT_KEY);
  return bytes === undefined ? undefined : raft_serverpb.StoreIdent.decode(bytes);
}

async function loadRegions(kv: KvEngine): Promise<metapb.Region[]> {
  const entries = await kv.scan('raft', { lowerBound: REGION_META_MIN_KEY, upperBound: REGION_META_MAX_KEY });
  const out: metapb.Region[] = [];
  for (const e of entries) {
    if (decodeRegionMetaKey(e.key).suffix !== REGION_STATE_SUFFIX) continue;
    const state = raft_serverpb.RegionLocalState.decode(e.value);
    if (state.state === raft_serverpb.PeerState.Tombstone || state.region === undefined) continue;
    out.push(state.region);
  }
  return out;
}

/** TiKV `Node::check_or_prepare_bootstrap_cluster` + `bootstrap_cluster`, crash-safe. */
async function bootstrapClusterIfNeeded(kv: KvEngine, pd: PdClient, logger: Logger, store: metapb.Store): Promise<void> {
  const storeId = store.id;
  const preparedBytes = await kv.get('raft', PREPARE_BOOTSTRAP_KEY);
  let prepared = preparedBytes === undefined ? undefined : metapb.Region.decode(preparedBytes);
  if (prepared === undefined) {
    const existing = await loadRegions(kv);
    if (existing.length > 0) return;
    if (await pd.isBootstrapped()) return;
    const regionId = await pd.allocId();
    const peerId = await pd.allocId();
    prepared = metapb.Region.fromPartial({
      id: regionId,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: { confVer: 1n, version: 1n },
      peers: [{ id: peerId, storeId, role: metapb.PeerRole.Voter }],
    });
    const wb = kv.writeBatch();
    wb.put('raft', PREPARE_BOOTSTRAP_KEY, metapb.Region.encode(prepared).finish());
    await wb.write(SYNC);
  }
  const region = prepared;
  let ours: boolean;
  try {
    await pd.bootstrap(store, region);
    ours = true;
    logger.info('cluster bootstrapped', { 'store-id': storeId.toString(), 'region-id': region.id.toString() });
  } catch (e: unknown) {
    if (!(e instanceof PdAlreadyBootstrappedError)) throw e;
    // Either a retry after a crash (PD knows our first region) or another store won the race.
    const known = await pd.getRegionById(region.id);
    ours = known !== undefined;
    logger.info(ours ? 'cluster bootstrap finished after restart' : 'cluster was bootstrapped by another store', {
      'region-id': region.id.toString(),
    });
  }
  const wb = kv.writeBatch();
  if (ours) wb.put('raft', regionStateKey(region.id), encodeRegionState(region));
  wb.delete('raft', PREPARE_BOOTSTRAP_KEY);
  await wb.write(SYNC);
}
