/// <reference types="jest" />
import { metapb, pdpb } from '@tikv-ts/proto';
import { drainMicrotasks } from '@tikv-ts/util/testing';
import { PdAlreadyBootstrappedError, PdClientClosedError, PdEntryNotFoundError, PdInvalidValueError, PdNotBootstrappedError } from '../errors';
import type { PdClient } from '../pd-client';

/** Makes clients for {@link runPdClientSuite}. */
export interface PdClientFactory {
  /** A client connected to a fresh, NOT bootstrapped cluster of its own. */
  create(): Promise<PdClient>;
  /** Called after each test with the client `create` returned (stop servers here). */
  destroy?(client: PdClient): Promise<void>;
}

/** Options of {@link runPdClientSuite}. */
export interface PdClientSuiteOptions {
  readonly factory: PdClientFactory;
  /**
   * Pause between polls while waiting for an asynchronous effect (a heartbeat travels on a
   * stream). Default: let pending microtasks and I/O callbacks run (`drainMicrotasks`); an
   * implementation over sockets passes a short real-time wait.
   */
  readonly pause?: () => Promise<void>;
  /** Polls before giving up (default 1000). */
  readonly maxPolls?: number;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * The behaviour every {@link PdClient} implementation shares (STYLE.md §7): RpcPdClient against
 * our PD runs it in tests/pd-client, TestPdClient in its own spec. Uses jest globals: import it
 * only from spec files.
 */
export function runPdClientSuite(options: PdClientSuiteOptions): void {
  const { factory } = options;
  const pause = options.pause ?? drainMicrotasks;
  const maxPolls = options.maxPolls ?? 1000;
  let pd: PdClient;

  /** Polls (with a bound) until `check` stops throwing. */
  const settle = async (check: () => Promise<void>): Promise<void> => {
    for (let polls = 1; ; polls++) {
      try {
        await check();
        return;
      } catch (e: unknown) {
        if (polls >= maxPolls) throw e;
        await pause();
      }
    }
  };

  /** Bootstraps like the first tikv-server: store, region and peer ids from PD. */
  const bootstrap = async (): Promise<{ store: metapb.Store; region: metapb.Region }> => {
    const storeId = await pd.allocId();
    const regionId = await pd.allocId();
    const peerId = await pd.allocId();
    const store = metapb.Store.fromPartial({ id: storeId, address: `127.0.0.1:${20160 + Number(storeId % 1000n)}`, version: '8.5.0' });
    const region = metapb.Region.fromPartial({ id: regionId, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: peerId, storeId }] });
    await pd.bootstrap(store, region);
    return { store, region };
  };

  describe('PdClient conformance', () => {
    beforeEach(async () => {
      pd = await factory.create();
    });

    afterEach(async () => {
      await pd.close();
      await factory.destroy?.(pd);
    });

    it('has a non-zero cluster id and allocates unique, increasing ids', async () => {
      expect(pd.getClusterId()).not.toBe(0n);
      const ids = await Promise.all(Array.from({ length: 20 }, () => pd.allocId()));
      expect(new Set(ids).size).toBe(20);
      const next = await pd.allocId();
      for (const id of ids) expect(next > id).toBe(true);
    });

    it('bootstraps once; before that, cluster state is refused with PdNotBootstrappedError', async () => {
      expect(await pd.isBootstrapped()).toBe(false);
      await expect(pd.getRegion(enc('a'))).rejects.toBeInstanceOf(PdNotBootstrappedError);
      await expect(pd.getClusterConfig()).rejects.toBeInstanceOf(PdNotBootstrappedError);
      expect(await pd.isSnapshotRecovering()).toBe(false);
      await expect(pd.putStore(metapb.Store.fromPartial({ id: 9n, address: 'h:1' }))).rejects.toBeInstanceOf(PdNotBootstrappedError);
      const { store, region } = await bootstrap();
      expect(await pd.isBootstrapped()).toBe(true);
      const config = await pd.getClusterConfig();
      expect(config.id).toBe(pd.getClusterId());
      expect(config.maxPeerCount).toBeGreaterThan(0);
      await expect(pd.bootstrap(store, region)).rejects.toBeInstanceOf(PdAlreadyBootstrappedError);
      const found = await pd.getRegion(enc('any key'));
      expect(found?.region.id).toBe(region.id);
      expect(found?.leader?.id).toBe(region.peers[0]?.id);
      expect((await pd.getRegionById(region.id))?.region.id).toBe(region.id);
      expect(await pd.getRegionById(region.id + 1000n)).toBeUndefined();
      expect(await pd.getPrevRegion(enc('m'))).toBeUndefined();
    });

    it('stores: put, get, list; a duplicated address is refused', async () => {
      const { store } = await bootstrap();
      await pd.putStore(metapb.Store.fromPartial({ id: 500n, address: '127.0.0.1:30500', version: '8.5.0' }));
      expect((await pd.getStore(500n)).address).toBe('127.0.0.1:30500');
      expect((await pd.getStore(store.id)).address).toBe(store.address);
      expect((await pd.getAllStores()).map((s) => s.id).sort()).toEqual([store.id, 500n].sort());
      await expect(pd.putStore(metapb.Store.fromPartial({ id: 501n, address: '127.0.0.1:30500' }))).rejects.toBeInstanceOf(PdInvalidValueError);
      await expect(pd.getStore(999_999n)).rejects.toThrow(/not found/);
      const res = await pd.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId: 500n, capacity: 100n, available: 60n }));
      expect(res.header?.error).toBeUndefined();
    });

    it('TSO: concurrent and sequential timestamps are unique and increasing', async () => {
      const batch = await Promise.all(Array.from({ length: 100 }, () => pd.getTimestamp()));
      for (let i = 1; i < batch.length; i++) expect((batch[i] as bigint) > (batch[i - 1] as bigint)).toBe(true);
      let last = batch[batch.length - 1] as bigint;
      for (let i = 0; i < 20; i++) {
        const ts = await pd.getTimestamp();
        expect(ts > last).toBe(true);
        last = ts;
      }
    });

    it('split: AskBatchSplit ids, ReportBatchSplit, then lookups, scans and prev-region see both halves', async () => {
      const { region } = await bootstrap();
      const [ids] = await pd.askBatchSplit(region, 1);
      if (ids === undefined) throw new Error('AskBatchSplit returned no ids');
      expect(ids.newPeerIds).toHaveLength(region.peers.length);
      const version = 2n;
      const left = metapb.Region.fromPartial({ ...region, endKey: enc('k'), regionEpoch: { confVer: 1n, version } });
      const right = metapb.Region.fromPartial({
        id: ids.newRegionId,
        startKey: enc('k'),
        regionEpoch: { confVer: 1n, version },
        peers: region.peers.map((p, i) => ({ id: ids.newPeerIds[i] ?? 0n, storeId: p.storeId })),
      });
      await expect(pd.reportBatchSplit([left])).rejects.toBeInstanceOf(PdInvalidValueError);
      await pd.reportBatchSplit([left, right]);
      expect((await pd.getRegion(enc('a')))?.region.id).toBe(left.id);
      expect((await pd.getRegion(enc('z')))?.region.id).toBe(right.id);
      expect((await pd.getPrevRegion(enc('k')))?.region.id).toBe(left.id);
      expect((await pd.scanRegions(enc(''), enc(''))).map((r) => r.region.id)).toEqual([left.id, right.id]);
      expect((await pd.scanRegions(enc('l'), enc(''))).map((r) => r.region.id)).toEqual([right.id]);
      expect((await pd.scanRegions(enc(''), enc(''), { limit: 1 })).map((r) => r.region.id)).toEqual([left.id]);
      // A split asked with the old epoch is refused as stale.
      await expect(pd.askBatchSplit(region, 1)).rejects.toBeInstanceOf(PdInvalidValueError);
    });

    it('region heartbeats update the leader; stale epochs are ignored', async () => {
      const { store, region } = await bootstrap();
      const peer2 = { id: await pd.allocId(), storeId: store.id + 1000n, role: metapb.PeerRole.Voter, isWitness: false };
      const grown = metapb.Region.fromPartial({ ...region, regionEpoch: { confVer: 2n, version: 1n }, peers: [...region.peers, peer2] });
      await pd.regionHeartbeat({ region: grown, leader: peer2, term: 7n });
      await settle(async () => {
        const r = await pd.getRegionById(region.id);
        expect(r?.leader?.id).toBe(peer2.id);
        expect(r?.region.peers).toHaveLength(2);
      });
      // The old epoch (one peer) is stale now: nothing changes.
      await pd.regionHeartbeat({ region, leader: region.peers[0] });
      await pd.regionHeartbeat({ region: grown, leader: peer2 });
      await settle(async () => {
        const r = await pd.getRegionById(region.id);
        expect(r?.region.peers).toHaveLength(2);
        expect(r?.leader?.id).toBe(peer2.id);
      });
    });

    it('GC safe point only moves forward; service safe points bound it', async () => {
      await bootstrap();
      expect(await pd.getGcSafePoint()).toBe(0n);
      expect(await pd.updateGcSafePoint(100n)).toBe(100n);
      expect(await pd.updateGcSafePoint(50n)).toBe(100n);
      const sp = await pd.updateServiceGcSafePoint('backup', 150n, { ttlSec: 3600n });
      expect(sp).toMatchObject({ serviceId: 'backup', minSafePoint: 150n });
      expect(await pd.updateGcSafePoint(200n)).toBe(150n);
      const removed = await pd.updateServiceGcSafePoint('backup', 0n, { ttlSec: 0n });
      expect(removed.serviceId).toBe('');
      expect(await pd.updateGcSafePoint(200n)).toBe(200n);
      expect(await pd.getGcSafePoint()).toBe(200n);
    });

    it('loads the DEFAULT keyspace; an unknown name is PdEntryNotFoundError', async () => {
      const ks = await pd.loadKeyspace('DEFAULT');
      expect(ks.id).toBe(0);
      expect(ks.name).toBe('DEFAULT');
      await expect(pd.loadKeyspace('no-such-keyspace')).rejects.toBeInstanceOf(PdEntryNotFoundError);
    });

    it('after close every call fails with PdClientClosedError', async () => {
      await pd.close();
      await expect(pd.allocId()).rejects.toBeInstanceOf(PdClientClosedError);
      await expect(pd.getTimestamp()).rejects.toBeInstanceOf(PdClientClosedError);
    });
  });
}
