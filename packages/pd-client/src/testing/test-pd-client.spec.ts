import { metapb, pdpb } from '@tikv-ts/proto';
import { ManualClock, drainMicrotasks } from '@tikv-ts/util/testing';
import { PdStoreTombstoneError, PdUnavailableError } from '../errors';
import { RegionCache } from '../region-cache';
import { TSO_LOGICAL_BITS } from '../tso-dispatcher';
import { runPdClientSuite } from './pd-client-suite';
import { TestPdClient } from './test-pd-client';

describe('TestPdClient', () => {
  runPdClientSuite({ factory: { create: () => Promise.resolve(new TestPdClient({ clock: new ManualClock(), clusterId: 99n })) } });

  const bootstrapped = async (clock = new ManualClock()) => {
    const pd = new TestPdClient({
      clock,
      onRegionHeartbeat: (hb) =>
        hb.region !== undefined && hb.region.peers.length === 1
          ? pdpb.RegionHeartbeatResponse.fromPartial({ regionId: hb.region.id, changePeer: { peer: { id: 77n, storeId: 2n }, changeType: 0 } })
          : undefined,
    });
    const region = metapb.Region.fromPartial({ id: 2n, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: 3n, storeId: 1n }] });
    await pd.bootstrap(metapb.Store.fromPartial({ id: 1n, address: 'a:1' }), region);
    return { pd, region, clock };
  };

  it('timestamps follow the clock physically and stay increasing when it stalls or goes back', async () => {
    const clock = new ManualClock({ startWallMs: 5000 });
    const pd = new TestPdClient({ clock });
    const a = await pd.getTimestamp();
    expect(a >> TSO_LOGICAL_BITS).toBe(5000n);
    clock.setWallMs(4000);
    const b = await pd.getTimestamp();
    expect(b).toBe(a + 1n);
    clock.advance(2000);
    expect((await pd.getTimestamp()) >> TSO_LOGICAL_BITS).toBe(6000n);
  });

  it('heartbeats reach the scheduler hook; its operators reach every listener', async () => {
    const { pd, region } = await bootstrapped();
    const got: pdpb.RegionHeartbeatResponse[] = [];
    pd.onRegionHeartbeatResponse((r) => got.push(r));
    pd.onRegionHeartbeatResponse(() => {
      throw new Error('a broken listener');
    });
    await pd.regionHeartbeat({ region, leader: region.peers[0] });
    await drainMicrotasks();
    expect(got.map((r) => r.changePeer?.peer?.id)).toEqual([77n]);
    expect(pd.listenerErrors).toHaveLength(1);
    pd.pushRegionHeartbeatResponse(pdpb.RegionHeartbeatResponse.fromPartial({ regionId: 2n }));
    await drainMicrotasks();
    expect(got).toHaveLength(2);
    expect(pd.regionHeartbeats).toHaveLength(1);
  });

  it('setUnavailable makes every call fail as an unreachable PD would', async () => {
    const { pd } = await bootstrapped();
    pd.setUnavailable(true);
    await expect(pd.getTimestamp()).rejects.toBeInstanceOf(PdUnavailableError);
    await expect(pd.getRegion(new Uint8Array())).rejects.toBeInstanceOf(PdUnavailableError);
    pd.setUnavailable(false);
    expect((await pd.getRegion(new Uint8Array()))?.region.id).toBe(2n);
  });

  it('tombstone stores are refused; a region cache runs over it', async () => {
    const { pd } = await bootstrapped();
    await pd.putStore(metapb.Store.fromPartial({ id: 5n, address: 'b:1' }));
    pd.setStoreTombstone(5n);
    await expect(pd.getStore(5n)).rejects.toBeInstanceOf(PdStoreTombstoneError);
    await expect(pd.putStore(metapb.Store.fromPartial({ id: 5n, address: 'b:2' }))).rejects.toBeInstanceOf(PdStoreTombstoneError);
    expect((await pd.getAllStores({ excludeTombstones: true })).map((s) => s.id)).toEqual([1n]);
    const cache = new RegionCache(pd);
    expect((await cache.locateKey(new TextEncoder().encode('k'))).leader?.id).toBe(3n);
  });
});
