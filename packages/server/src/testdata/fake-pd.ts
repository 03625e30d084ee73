// An in-memory PdClient for node and service specs: ids, bootstrap, stores, regions, heartbeats.
import { PdAlreadyBootstrappedError, type PdClient, type RegionHeartbeat, type RegionInfo } from '@tikv-ts/pd-client';
import { pdpb, type metapb } from '@tikv-ts/proto';

export class FakePd {
  clusterId = 7n;
  nextId = 1n;
  bootstrapped: { store: metapb.Store; region: metapb.Region } | undefined;
  readonly stores = new Map<bigint, metapb.Store>();
  readonly regions = new Map<bigint, metapb.Region>();
  readonly storeHeartbeats: pdpb.StoreStats[] = [];
  readonly regionHeartbeats: RegionHeartbeat[] = [];
  /** Fails `bootstrap` after recording it (a crash between PD and local persistence). */
  failBootstrapAfterRecording = false;

  client(): PdClient {
    const partial: Partial<PdClient> = {
      getClusterId: () => this.clusterId,
      allocId: async () => this.nextId++,
      isBootstrapped: async () => this.bootstrapped !== undefined,
      bootstrap: async (store, region) => {
        if (this.bootstrapped !== undefined) {
          throw new PdAlreadyBootstrappedError('Bootstrap', pdpb.ErrorType.ALREADY_BOOTSTRAPPED, 'cluster is already bootstrapped');
        }
        this.bootstrapped = { store, region };
        this.regions.set(region.id, region);
        if (this.failBootstrapAfterRecording) throw new Error('connection reset');
      },
      putStore: async (store) => {
        this.stores.set(store.id, store);
      },
      getRegionById: async (id): Promise<RegionInfo | undefined> => {
        const region = this.regions.get(id);
        return region === undefined ? undefined : { region, leader: region.peers[0], downPeers: [], pendingPeers: [] };
      },
      askBatchSplit: async (region, count) =>
        Array.from({ length: count }, () => pdpb.SplitID.fromPartial({ newRegionId: this.nextId++, newPeerIds: region.peers.map(() => this.nextId++) })),
      reportBatchSplit: async (regions) => {
        for (const r of regions) this.regions.set(r.id, r);
      },
      storeHeartbeat: async (stats) => {
        this.storeHeartbeats.push(stats);
        return pdpb.StoreHeartbeatResponse.fromPartial({});
      },
      regionHeartbeat: async (hb) => {
        this.regionHeartbeats.push(hb);
      },
      close: async () => undefined,
    };
    return partial as PdClient;
  }
}
