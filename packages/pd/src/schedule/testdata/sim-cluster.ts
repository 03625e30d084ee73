// A small TiKV-side simulator for the scheduling specs: stores and regions whose leaders send
// region heartbeats to a real ClusterState, apply the operator steps PD answers with (as TiKV's
// raftstore would: epoch-checked conf changes, leader transfers, splits), and make new peers
// pending for a while (a snapshot). Everything runs on a ManualClock and a seeded Rng.
import { compareBytes } from '@tikv-ts/codec';
import { eraftpb, metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { ClusterState } from '../../cluster';
import { PdStorage } from '../../storage';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { clusterViewOf, type ScheduleConfig } from '../config';
import { Coordinator, type SchedulerName } from '../coordinator';
import type { Operator } from '../operator';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const keyOf = (i: number): Uint8Array => enc(`k${String(i).padStart(6, '0')}`);
const numOf = (k: Uint8Array): number => Number(new TextDecoder().decode(k).slice(1));
const KEY_SPACE = 1_000_000;

/** A region as the simulated TiKV knows it. */
export interface SimRegion {
  meta: metapb.Region;
  leaderStoreId: bigint;
  /** Peer id → ms (monotonic) until which the peer is pending (Infinity: never catches up). */
  readonly pendingUntil: Map<bigint, number>;
}

export interface SimOptions {
  readonly seed: bigint;
  readonly stores: number;
  readonly regions: number;
  /** Store ids (1-based) holding each initial region's peers; the first is the leader. */
  readonly placement?: (regionIndex: number) => readonly number[];
  readonly config?: Partial<ScheduleConfig>;
  readonly schedulers?: readonly SchedulerName[];
  readonly maxReplicas?: number;
  /** How long a new peer stays pending (default 2 s). */
  readonly snapshotMs?: number;
  /** Region heartbeat period (default 1 s, staggered per region). */
  readonly regionHeartbeatMs?: number;
  /** Probability that a response is lost on the way to TiKV (default 0). */
  readonly dropRate?: number;
  /** Simulation step (default 100 ms): clock advance, heartbeats due, coordinator tick. */
  readonly stepMs?: number;
}

/** What the simulator saw: every applied command and invariant-relevant samples. */
export interface SimStats {
  applied: number;
  rejected: number;
  dropped: number;
  /** Smallest voter count any region had after every region first reached max-replicas. */
  minVotersAfterFull: number;
}

export class SimCluster {
  readonly clock = new ManualClock();
  readonly rng: SeededRng;
  readonly regions = new Map<bigint, SimRegion>();
  readonly deadStores = new Map<bigint, number>();
  readonly ended: Operator[] = [];
  readonly stats: SimStats = { applied: 0, rejected: 0, dropped: 0, minVotersAfterFull: Infinity };
  /** Set by a test to lose every response for a region while it returns true. */
  blackhole: (regionId: bigint) => boolean = () => false;
  cluster!: ClusterState;
  coordinator!: Coordinator;
  #nextId = 1n;
  #full = false;
  readonly #opts: SimOptions;
  readonly #storeIds: bigint[] = [];
  readonly #lastRegionHbMs = new Map<bigint, number>();
  #lastStoreHbMs = -Infinity;

  private constructor(opts: SimOptions) {
    this.#opts = opts;
    this.rng = new SeededRng(opts.seed);
  }

  allocId(): bigint {
    return this.#nextId++;
  }

  static async create(opts: SimOptions): Promise<SimCluster> {
    const sim = new SimCluster(opts);
    await sim.#init();
    return sim;
  }

  async #init(): Promise<void> {
    const o = this.#opts;
    const storage = new PdStorage(MemoryEngine.open());
    await storage.saveClusterId(7n);
    this.cluster = await ClusterState.load(storage, this.clock, {
      maxReplicas: o.maxReplicas ?? 3,
    });
    for (let i = 1; i <= o.stores; i++) this.#storeIds.push(this.allocId());
    const storeMeta = (id: bigint): metapb.Store =>
      metapb.Store.fromPartial({
        id,
        address: `127.0.0.1:${20000 + Number(id)}`,
        version: '8.5.0',
      });
    const first = this.#storeIds[0] ?? 1n;
    const bootRegionId = this.allocId();
    await this.cluster.bootstrap(
      storeMeta(first),
      metapb.Region.fromPartial({
        id: bootRegionId,
        regionEpoch: { confVer: 1n, version: 1n },
        peers: [{ id: this.allocId(), storeId: first }],
      }),
    );
    for (const id of this.#storeIds.slice(1)) await this.cluster.putStore(storeMeta(id));
    const placement = o.placement ?? (() => [1]);
    const width = Math.floor(KEY_SPACE / o.regions);
    for (let i = 0; i < o.regions; i++) {
      const stores = placement(i).map((s) => this.#storeIds[s - 1] ?? 0n);
      const meta = metapb.Region.fromPartial({
        id: i === 0 ? bootRegionId : this.allocId(),
        startKey: i === 0 ? new Uint8Array() : keyOf(i * width),
        endKey: i === o.regions - 1 ? new Uint8Array() : keyOf((i + 1) * width),
        regionEpoch: { confVer: BigInt(stores.length), version: 2n },
        peers: stores.map((storeId) => ({
          id: this.allocId(),
          storeId,
          role: metapb.PeerRole.Voter,
        })),
      });
      const r: SimRegion = { meta, leaderStoreId: stores[0] ?? first, pendingUntil: new Map() };
      this.regions.set(meta.id, r);
      await this.#regionHeartbeat(r);
    }
    this.coordinator = new Coordinator({
      cluster: clusterViewOf(this.cluster),
      clock: this.clock,
      rng: new SeededRng(o.seed).fork('coordinator'),
      allocPeerId: () => this.allocId(),
      ...(o.config === undefined ? {} : { config: o.config }),
      ...(o.schedulers === undefined ? {} : { schedulers: o.schedulers }),
      clusterId: 7n,
      onOperatorEnd: (op) => this.ended.push(op),
    });
    await this.#storeHeartbeats();
  }

  get storeIds(): readonly bigint[] {
    return this.#storeIds;
  }

  /** Stops a store: no heartbeats, its leaders move to a live voter, its peers are reported down. */
  killStore(id: bigint): void {
    this.deadStores.set(id, this.clock.monotonicMs());
  }

  async #storeHeartbeats(): Promise<void> {
    for (const id of this.#storeIds) {
      if (this.deadStores.has(id)) continue;
      const regionCount = [...this.regions.values()].filter((r) =>
        r.meta.peers.some((p) => p.storeId === id),
      ).length;
      await this.cluster.storeHeartbeat(
        pdpb.StoreStats.fromPartial({
          storeId: id,
          capacity: 100n << 30n,
          available: (100n << 30n) - BigInt(regionCount) * (96n << 20n),
          regionCount,
        }),
      );
    }
    this.#lastStoreHbMs = this.clock.monotonicMs();
  }

  isPending(r: SimRegion, peerId: bigint): boolean {
    return (r.pendingUntil.get(peerId) ?? -Infinity) > this.clock.monotonicMs();
  }

  /** Sends region r's heartbeat to PD (if its leader is alive) and applies PD's answer. */
  async #regionHeartbeat(r: SimRegion): Promise<void> {
    if (this.deadStores.has(r.leaderStoreId)) {
      // Elect a live, caught-up voter.
      const next = r.meta.peers.find(
        (p) =>
          p.role === metapb.PeerRole.Voter &&
          !this.deadStores.has(p.storeId) &&
          !this.isPending(r, p.id),
      );
      if (next === undefined) return;
      r.leaderStoreId = next.storeId;
    }
    const now = this.clock.monotonicMs();
    const leader = r.meta.peers.find((p) => p.storeId === r.leaderStoreId);
    const downPeers = r.meta.peers
      .filter((p) => this.deadStores.has(p.storeId))
      .map((p) =>
        pdpb.PeerStats.fromPartial({
          peer: p,
          downSeconds: BigInt(Math.floor((now - (this.deadStores.get(p.storeId) ?? now)) / 1000)),
        }),
      );
    const pendingPeers = r.meta.peers.filter(
      (p) => this.isPending(r, p.id) || this.deadStores.has(p.storeId),
    );
    const info = await this.cluster.handleRegionHeartbeat({
      region: metapb.Region.fromPartial(r.meta),
      leader,
      downPeers,
      pendingPeers,
      term: 5n,
      stats: {
        bytesWritten: 0n,
        bytesRead: 0n,
        keysWritten: 0n,
        keysRead: 0n,
        approximateSize: 96n << 20n,
        approximateKeys: 1000n,
      },
    });
    this.#lastRegionHbMs.set(r.meta.id, now);
    if (this.coordinator === undefined) return;
    const resp = this.coordinator.onRegionHeartbeat(info);
    if (resp !== undefined) await this.deliver(resp);
  }

  /** TiKV's side of a heartbeat response: apply it to the region if its epoch still matches. */
  async deliver(resp: pdpb.RegionHeartbeatResponse): Promise<void> {
    if (resp.header?.clusterId !== 7n)
      throw new Error(`response without the cluster id: ${String(resp.header?.clusterId)}`);
    const r = this.regions.get(resp.regionId);
    if (r === undefined) return;
    if (
      this.blackhole(resp.regionId) ||
      (this.#opts.dropRate !== undefined && this.rng.chance(this.#opts.dropRate))
    ) {
      this.stats.dropped++;
      return;
    }
    if (this.deadStores.has(r.leaderStoreId) || resp.targetPeer?.storeId !== r.leaderStoreId) {
      this.stats.rejected++;
      return;
    }
    const e = r.meta.regionEpoch;
    if (
      e === undefined ||
      resp.regionEpoch?.confVer !== e.confVer ||
      resp.regionEpoch.version !== e.version
    ) {
      this.stats.rejected++; // epoch not match
      return;
    }
    const now = this.clock.monotonicMs();
    const bumpConf = (peers: metapb.Peer[]): void => {
      r.meta = metapb.Region.fromPartial({
        ...r.meta,
        peers,
        regionEpoch: { confVer: e.confVer + 1n, version: e.version },
      });
    };
    if (resp.changePeer !== undefined) {
      const { peer, changeType } = resp.changePeer;
      if (peer === undefined) throw new Error('change peer without a peer');
      const existing = r.meta.peers.find((p) => p.storeId === peer.storeId);
      const pendingMs = this.deadStores.has(peer.storeId)
        ? Infinity
        : now + (this.#opts.snapshotMs ?? 2000);
      switch (changeType) {
        case eraftpb.ConfChangeType.AddLearnerNode:
          if (existing !== undefined) return void this.stats.rejected++;
          r.pendingUntil.set(peer.id, pendingMs);
          bumpConf([
            ...r.meta.peers,
            metapb.Peer.fromPartial({
              id: peer.id,
              storeId: peer.storeId,
              role: metapb.PeerRole.Learner,
            }),
          ]);
          break;
        case eraftpb.ConfChangeType.AddNode:
          if (
            existing !== undefined &&
            (existing.id !== peer.id || existing.role === metapb.PeerRole.Voter)
          )
            return void this.stats.rejected++;
          if (existing === undefined) r.pendingUntil.set(peer.id, pendingMs);
          bumpConf([
            ...r.meta.peers.filter((p) => p.id !== peer.id),
            metapb.Peer.fromPartial({
              id: peer.id,
              storeId: peer.storeId,
              role: metapb.PeerRole.Voter,
            }),
          ]);
          break;
        case eraftpb.ConfChangeType.RemoveNode:
          if (
            existing === undefined ||
            existing.id !== peer.id ||
            existing.storeId === r.leaderStoreId
          )
            return void this.stats.rejected++;
          r.pendingUntil.delete(peer.id);
          bumpConf(r.meta.peers.filter((p) => p.id !== peer.id));
          break;
        default:
          throw new Error(`unknown change type ${String(changeType)}`);
      }
      this.stats.applied++;
    } else if (resp.transferLeader !== undefined) {
      const to = resp.transferLeader.peer;
      const target = r.meta.peers.find((p) => p.id === to?.id);
      if (
        target === undefined ||
        target.role !== metapb.PeerRole.Voter ||
        this.deadStores.has(target.storeId) ||
        this.isPending(r, target.id)
      ) {
        return void this.stats.rejected++;
      }
      r.leaderStoreId = target.storeId;
      this.stats.applied++;
    } else if (resp.splitRegion !== undefined) {
      const lo = r.meta.startKey.length === 0 ? 0 : numOf(r.meta.startKey);
      const hi = r.meta.endKey.length === 0 ? KEY_SPACE : numOf(r.meta.endKey);
      const key =
        resp.splitRegion.keys[0] ?? (hi - lo >= 2 ? keyOf(Math.floor((lo + hi) / 2)) : undefined);
      if (
        key === undefined ||
        compareBytes(key, r.meta.startKey) <= 0 ||
        (r.meta.endKey.length > 0 && compareBytes(key, r.meta.endKey) >= 0)
      ) {
        return void this.stats.rejected++;
      }
      const version = e.version + 1n;
      const left: SimRegion = {
        meta: metapb.Region.fromPartial({
          id: this.allocId(),
          startKey: r.meta.startKey,
          endKey: key,
          regionEpoch: { confVer: e.confVer, version },
          peers: r.meta.peers.map((p) => ({ ...p, id: this.allocId() })),
        }),
        leaderStoreId: r.leaderStoreId,
        pendingUntil: new Map(),
      };
      r.meta = metapb.Region.fromPartial({
        ...r.meta,
        startKey: key,
        regionEpoch: { confVer: e.confVer, version },
      });
      this.regions.set(left.meta.id, left);
      this.stats.applied++;
      // TiKV reports a split at once (ReportBatchSplit), then both leaders heartbeat.
      await this.#regionHeartbeat(left);
      await this.#regionHeartbeat(r);
    }
  }

  voters(r: SimRegion): metapb.Peer[] {
    return r.meta.peers.filter((p) => p.role === metapb.PeerRole.Voter);
  }

  /** One step: time moves, due heartbeats are sent, the coordinator ticks and pushes new operators. */
  async step(): Promise<void> {
    const stepMs = this.#opts.stepMs ?? 100;
    this.clock.advance(stepMs);
    const now = this.clock.monotonicMs();
    if (now - this.#lastStoreHbMs >= 10_000) await this.#storeHeartbeats();
    const period = this.#opts.regionHeartbeatMs ?? 1000;
    for (const r of [...this.regions.values()]) {
      const last = this.#lastRegionHbMs.get(r.meta.id) ?? -Infinity;
      if (now - last >= period) await this.#regionHeartbeat(r);
    }
    for (const d of this.coordinator.tick()) {
      const r = this.regions.get(d.regionId);
      if (d.storeId !== r?.leaderStoreId)
        throw new Error(`dispatch to store ${d.storeId}, leader on ${String(r?.leaderStoreId)}`);
      await this.deliver(d.response);
    }
    const max = this.#opts.maxReplicas ?? 3;
    const counts = [...this.regions.values()].map((r) => this.voters(r).length);
    if (!this.#full && counts.every((c) => c >= max)) this.#full = true;
    if (this.#full)
      this.stats.minVotersAfterFull = Math.min(this.stats.minVotersAfterFull, ...counts);
  }

  /** Steps for `ms` of virtual time, calling `check` after each step. */
  async run(ms: number, check?: () => void): Promise<void> {
    const end = this.clock.monotonicMs() + ms;
    while (this.clock.monotonicMs() < end) {
      await this.step();
      check?.();
    }
  }

  /** Steps until `pred` holds; fails after `maxMs` of virtual time. */
  async runUntil(pred: () => boolean, maxMs: number, check?: () => void): Promise<number> {
    const start = this.clock.monotonicMs();
    while (!pred()) {
      if (this.clock.monotonicMs() - start > maxMs)
        throw new Error(`condition not reached within ${maxMs} ms\n${this.describe()}`);
      await this.step();
      check?.();
    }
    return this.clock.monotonicMs() - start;
  }

  /** The state in a few lines, for failure messages. */
  describe(): string {
    const lines = [...this.regions.values()].map(
      (r) =>
        `region ${r.meta.id} epoch ${r.meta.regionEpoch?.confVer}/${r.meta.regionEpoch?.version} leader@${r.leaderStoreId} ` +
        r.meta.peers
          .map(
            (p) =>
              `${p.id}@${p.storeId}${p.role === metapb.PeerRole.Learner ? 'L' : ''}${this.isPending(r, p.id) ? 'P' : ''}`,
          )
          .join(' '),
    );
    lines.push(
      `dead stores ${[...this.deadStores.keys()].join(',')}; regions per store ${JSON.stringify([...this.regionCounts()].map(([k, v]) => `${k}:${v}`))}`,
    );
    lines.push(
      `leaders per store ${JSON.stringify([...this.leaderCounts()].map(([k, v]) => `${k}:${v}`))}`,
    );
    lines.push(
      `running ${JSON.stringify(this.coordinator.listOperators().map((o) => `${o.brief} step ${o.current_step}`))}`,
    );
    lines.push(
      `last ended ${JSON.stringify(this.ended.slice(-5).map((o) => `${o.brief} ${o.status} ${o.reason}`))}`,
    );
    return lines.join('\n');
  }

  /** Regions per store (peers of any role). */
  regionCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>(this.#storeIds.map((s) => [s, 0]));
    for (const r of this.regions.values())
      for (const p of r.meta.peers) m.set(p.storeId, (m.get(p.storeId) ?? 0) + 1);
    return m;
  }

  /** Leaders per store. */
  leaderCounts(): Map<bigint, number> {
    const m = new Map<bigint, number>(this.#storeIds.map((s) => [s, 0]));
    for (const r of this.regions.values())
      m.set(r.leaderStoreId, (m.get(r.leaderStoreId) ?? 0) + 1);
    return m;
  }
}
