import { statfs } from 'node:fs/promises';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_MAX_KEY, DATA_MIN_KEY, dataKey } from '@tikv-ts/codec';
import type { CfName, KvEngine } from '@tikv-ts/engine-traits';
import type { PdClient } from '@tikv-ts/pd-client';
import { pdpb, type metapb } from '@tikv-ts/proto';
import type { Clock, Logger, TimerHandle } from '@tikv-ts/util';
import type { FlowStats } from './flow-stats';
import type { ServerMetrics } from './metrics';
import type { RegionManager } from './region-manager';

const DATA_CFS: readonly CfName[] = ['default', 'write', 'lock'];

/** Options of {@link PdWorker}. */
export interface PdWorkerOptions {
  readonly pd: PdClient;
  readonly kv: KvEngine;
  readonly regions: RegionManager;
  readonly flow: FlowStats;
  readonly metrics: ServerMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The data directory (its disk gives capacity and available space, its files the used size). */
  readonly dataDir: string;
  /** `raftstore.capacity` in bytes; 0 = the disk's size. */
  readonly capacityBytes: number;
  readonly storeHeartbeatIntervalMs: number;
  readonly regionHeartbeatIntervalMs: number;
  /** Unix seconds of the process start. */
  readonly startTimeSec: number;
  /** Whether the scheduler is over its pending-write threshold. */
  readonly isBusy: () => boolean;
}

/** Space of the store, in bytes. */
export interface StoreSpace {
  readonly capacity: number;
  readonly available: number;
  readonly used: number;
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) {
      try {
        total += (await stat(p)).size;
      } catch {
        // Removed meanwhile (compaction): not counted.
      }
    }
  }
  return total;
}

/** Capacity, available and used bytes of a store in `dataDir` (TiKV's `StoreStats` rules). */
export async function storeSpace(dataDir: string, capacityBytes: number): Promise<StoreSpace> {
  const fsStats = await statfs(dataDir);
  const disk = fsStats.blocks * fsStats.bsize;
  const diskAvail = fsStats.bavail * fsStats.bsize;
  const capacity = capacityBytes === 0 || capacityBytes > disk ? disk : capacityBytes;
  const used = await dirSize(dataDir);
  const available = Math.max(0, Math.min(diskAvail, capacity - used));
  return { capacity, available, used };
}

/** Approximate bytes and keys of a region's data (every data CF). */
export async function regionApproximateStats(kv: KvEngine, region: metapb.Region): Promise<{ sizeBytes: number; keys: number }> {
  const start = dataKey(region.startKey);
  const end = region.endKey.length === 0 ? DATA_MAX_KEY : dataKey(region.endKey);
  let sizeBytes = 0;
  let keys = 0;
  for (const cf of DATA_CFS) {
    const s = await kv.approximateRangeStats(cf, start, end);
    sizeBytes += s.sizeBytes;
    keys += s.keys;
  }
  return { sizeBytes, keys };
}

/**
 * Talks to PD on the store's behalf (TiKV's pd worker): a StoreHeartbeat every
 * `pd-store-heartbeat-tick-interval` with capacity, available and used bytes, region count and
 * the keys/bytes read and written since the last one; a RegionHeartbeat for every region every
 * `pd-heartbeat-tick-interval` (and on demand) with approximate size and keys and the region's
 * traffic. Failures are logged and retried at the next tick. Also refreshes the engine and store
 * gauges.
 */
export class PdWorker {
  readonly #o: PdWorkerOptions;
  #storeTimer: TimerHandle | undefined;
  #regionTimer: TimerHandle | undefined;
  #lastStoreHbSec: number;
  readonly #lastRegionHbSec = new Map<bigint, number>();
  #stopped = false;
  #running = new Set<Promise<void>>();

  constructor(options: PdWorkerOptions) {
    this.#o = options;
    this.#lastStoreHbSec = options.startTimeSec;
  }

  /** Sends the first heartbeats now and schedules the next ones. */
  start(): void {
    this.#track(this.storeHeartbeat());
    this.#track(this.regionHeartbeats());
    this.#scheduleStore();
    this.#scheduleRegion();
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  #scheduleStore(): void {
    if (this.#stopped) return;
    this.#storeTimer = this.#o.clock.setTimer(this.#o.storeHeartbeatIntervalMs, () => {
      this.#track(this.storeHeartbeat());
      this.#scheduleStore();
    });
  }

  #scheduleRegion(): void {
    if (this.#stopped) return;
    this.#regionTimer = this.#o.clock.setTimer(this.#o.regionHeartbeatIntervalMs, () => {
      this.#track(this.regionHeartbeats());
      this.#scheduleRegion();
    });
  }

  #nowSec(): number {
    return Math.floor(this.#o.clock.nowMs() / 1000);
  }

  /** Sends one StoreHeartbeat (errors are logged, never thrown). */
  async storeHeartbeat(): Promise<void> {
    const { regions, metrics } = this.#o;
    try {
      const space = await storeSpace(this.#o.dataDir, this.#o.capacityBytes);
      metrics.storeSize.labels('capacity').set(space.capacity);
      metrics.storeSize.labels('available').set(space.available);
      metrics.storeSize.labels('used').set(space.used);
      const leaders = regions.regions().filter((r) => regions.peerOf(r) !== undefined).length;
      metrics.regionCount.labels('region').set(regions.size);
      metrics.regionCount.labels('leader').set(leaders);
      await this.#refreshEngineGauges();
      const flow = this.#o.flow.takeStore();
      const now = this.#nowSec();
      const stats = pdpb.StoreStats.fromPartial({
        storeId: regions.storeId,
        capacity: BigInt(space.capacity),
        available: BigInt(space.available),
        usedSize: BigInt(space.used),
        regionCount: regions.size,
        startTime: this.#o.startTimeSec,
        isBusy: this.#o.isBusy(),
        bytesWritten: BigInt(flow.bytesWritten),
        keysWritten: BigInt(flow.keysWritten),
        bytesRead: BigInt(flow.bytesRead),
        keysRead: BigInt(flow.keysRead),
        interval: { startTimestamp: BigInt(this.#lastStoreHbSec), endTimestamp: BigInt(now) },
      });
      this.#lastStoreHbSec = now;
      await this.#o.pd.storeHeartbeat(stats);
    } catch (e: unknown) {
      if (!this.#stopped) this.#o.logger.warn('store heartbeat failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  async #refreshEngineGauges(): Promise<void> {
    const { kv, metrics } = this.#o;
    for (const cf of [...DATA_CFS, 'raft'] as const) {
      const s = await kv.approximateRangeStats(cf, cf === 'raft' ? new Uint8Array(0) : DATA_MIN_KEY, cf === 'raft' ? Uint8Array.of(0xff) : DATA_MAX_KEY);
      metrics.engineSize.labels('kv', cf).set(s.sizeBytes);
      metrics.engineNumKeys.labels('kv', cf).set(s.keys);
    }
  }

  /** Sends a RegionHeartbeat for every region (or for `only`). Errors are logged. */
  async regionHeartbeats(only?: readonly metapb.Region[]): Promise<void> {
    const { regions, kv, pd, flow } = this.#o;
    for (const region of only ?? regions.regions()) {
      try {
        const peer = regions.peerOf(region);
        if (peer === undefined) continue;
        const stats = await regionApproximateStats(kv, region);
        const f = flow.takeRegion(region.id);
        const now = this.#nowSec();
        const last = this.#lastRegionHbSec.get(region.id) ?? this.#o.startTimeSec;
        this.#lastRegionHbSec.set(region.id, now);
        await pd.regionHeartbeat({
          region,
          leader: peer,
          term: 1n,
          approximateSize: BigInt(stats.sizeBytes),
          approximateKeys: BigInt(stats.keys),
          bytesWritten: BigInt(f.bytesWritten),
          keysWritten: BigInt(f.keysWritten),
          bytesRead: BigInt(f.bytesRead),
          keysRead: BigInt(f.keysRead),
          interval: { startTimestamp: BigInt(last), endTimestamp: BigInt(now) },
        });
      } catch (e: unknown) {
        if (!this.#stopped) {
          this.#o.logger.warn('region heartbeat failed', { 'region-id': region.id.toString(), error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
  }

  /** Stops the timers and waits for heartbeats in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#storeTimer?.cancel();
    this.#regionTimer?.cancel();
    await Promise.allSettled([...this.#running]);
  }
}
