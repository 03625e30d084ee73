// Spec helper: a small but honest PD over real gRPC (grpc-js server, real streams) with
// deterministic answers, on 127.0.0.1 with an ephemeral port.
import * as grpc from '@grpc/grpc-js';
import { compareBytes } from '@tikv-ts/codec';
import { keyspacepb, metapb, pdpb } from '@tikv-ts/proto';

/** State shared by the members of one fake cluster: who leads, and the data. */
export class FakeCluster {
  readonly clusterId: bigint;
  leaderName = '';
  readonly members: FakePd[] = [];
  bootstrapped = false;
  nextId = 1000n;
  physical = 1_000_000n;
  logical = 0n;
  gcSafePoint = 0n;
  readonly stores = new Map<bigint, metapb.Store>();
  /** Sorted by start key, non-overlapping. */
  regions: { region: metapb.Region; leader: metapb.Peer | undefined }[] = [];
  readonly serviceSafePoints = new Map<string, bigint>();

  constructor(clusterId = 7n) {
    this.clusterId = clusterId;
  }

  setRegions(regions: { region: metapb.Region; leader: metapb.Peer | undefined }[]): void {
    this.regions = [...regions].sort((a, b) => compareBytes(a.region.startKey, b.region.startKey));
  }

  regionIndexOf(key: Uint8Array): number {
    return this.regions.findIndex(
      (r) => compareBytes(r.region.startKey, key) <= 0 && (r.region.endKey.length === 0 || compareBytes(key, r.region.endKey) < 0),
    );
  }
}

/** Per-member behaviour switches a spec flips. */
export interface FakePdBehaviour {
  /** Hold TSO requests until {@link FakePd.releaseTso}. */
  holdTso: boolean;
  /** Answer every PD request (not GetMembers) with gRPC UNAVAILABLE "not leader". */
  notLeader: boolean;
  /** Answer TSO with this count instead of the asked one (a broken PD). */
  tsoCountOverride: number | undefined;
}

type Handler = grpc.UntypedHandleCall;

export class FakePd {
  readonly name: string;
  readonly cluster: FakeCluster;
  readonly behaviour: FakePdBehaviour = { holdTso: false, notLeader: false, tsoCountOverride: undefined };
  /** Requests served, by method name. */
  readonly calls = new Map<string, number>();
  /** `count` of each TsoRequest received, in order. */
  readonly tsoCounts: number[] = [];
  /** Region heartbeats received. */
  readonly heartbeats: pdpb.RegionHeartbeatRequest[] = [];
  /** Store heartbeats received. */
  readonly storeHeartbeats: pdpb.StoreStats[] = [];
  /** Headers of every request received (not GetMembers). */
  readonly headers: (pdpb.RequestHeader | undefined)[] = [];
  #server: grpc.Server | undefined;
  #port = 0;
  readonly #tsoStreams = new Set<grpc.ServerDuplexStream<pdpb.TsoRequest, pdpb.TsoResponse>>();
  readonly #hbStreams = new Set<grpc.ServerDuplexStream<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse>>();
  #held: { call: grpc.ServerDuplexStream<pdpb.TsoRequest, pdpb.TsoResponse>; req: pdpb.TsoRequest }[] = [];

  constructor(name: string, cluster: FakeCluster) {
    this.name = name;
    this.cluster = cluster;
    cluster.members.push(this);
    if (cluster.leaderName === '') cluster.leaderName = name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get isRunning(): boolean {
    return this.#server !== undefined;
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  /** Starts serving on `port` (0 = ephemeral; a restart passes the old port). */
  async start(port = 0): Promise<void> {
    const server = new grpc.Server();
    server.addService(pdpb.PDService, this.#pdService());
    server.addService(keyspacepb.KeyspaceService, this.#keyspaceService());
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p))),
    );
    this.#server = server;
  }

  /** Stops at once: open calls and streams fail on the client side. */
  stop(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
    this.#tsoStreams.clear();
    this.#hbStreams.clear();
    this.#held = [];
  }

  get port(): number {
    return this.#port;
  }

  /** Answers every held TSO request, in arrival order. */
  releaseTso(): number {
    const held = this.#held;
    this.#held = [];
    for (const h of held) this.#answerTso(h.call, h.req);
    return held.length;
  }

  get heldTso(): number {
    return this.#held.length;
  }

  /** Fails every open TSO stream with gRPC UNAVAILABLE (held requests are dropped). */
  breakTsoStreams(): void {
    this.#held = [];
    for (const s of this.#tsoStreams) s.emit('error', { code: grpc.status.UNAVAILABLE, details: 'TSO stream broken by the test' });
    this.#tsoStreams.clear();
  }

  /** Pushes an operator to every open region heartbeat stream. */
  pushHeartbeatResponse(res: pdpb.RegionHeartbeatResponse): number {
    for (const s of this.#hbStreams) s.write(res);
    return this.#hbStreams.size;
  }

  #count(method: string): void {
    this.calls.set(method, this.count(method) + 1);
  }

  /** This member as GetMembers lists it. */
  memberInfo(): pdpb.Member {
    return pdpb.Member.fromPartial({ name: this.name, memberId: BigInt(this.cluster.members.indexOf(this) + 1), clientUrls: [this.url] });
  }

  #okHeader(): pdpb.ResponseHeader {
    return { clusterId: this.cluster.clusterId, error: undefined };
  }

  #errHeader(type: pdpb.ErrorType, message: string): pdpb.ResponseHeader {
    return { clusterId: this.cluster.clusterId, error: { type, message } };
  }

  #answerTso(call: grpc.ServerDuplexStream<pdpb.TsoRequest, pdpb.TsoResponse>, req: pdpb.TsoRequest): void {
    const c = this.cluster;
    if (req.header?.clusterId !== c.clusterId) {
      call.write(pdpb.TsoResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.UNKNOWN, 'mismatch cluster id'), count: 0 }));
      return;
    }
    c.logical += BigInt(req.count);
    if (c.logical >= 1n << 18n) {
      c.physical += 1n;
      c.logical = BigInt(req.count);
    }
    call.write(
      pdpb.TsoResponse.fromPartial({
        header: this.#okHeader(),
        count: this.behaviour.tsoCountOverride ?? req.count,
        timestamp: { physical: c.physical, logical: c.logical, suffixBits: 0 },
      }),
    );
  }

  /** A unary handler that counts, checks leadership and the header, then answers `fn`. */
  #unary<Req extends { header?: pdpb.RequestHeader | undefined }, Res>(
    method: string,
    fn: (req: Req) => Res,
    onBadHeader: (header: pdpb.ResponseHeader) => Res,
  ): Handler {
    const h: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
      this.#count(method);
      this.headers.push(call.request.header);
      if (this.behaviour.notLeader || this.cluster.leaderName !== this.name) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'not leader' });
        return;
      }
      if (call.request.header?.clusterId !== this.cluster.clusterId) {
        callback(null, onBadHeader(this.#errHeader(pdpb.ErrorType.UNKNOWN, `mismatch cluster id, need ${this.cluster.clusterId}`)));
        return;
      }
      callback(null, fn(call.request));
    };
    return h as Handler;
  }

  #regionAnswer(index: number): pdpb.GetRegionResponse {
    const r = this.cluster.regions[index];
    if (r === undefined) return pdpb.GetRegionResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.REGION_NOT_FOUND, 'region not found') });
    return pdpb.GetRegionResponse.fromPartial({ header: this.#okHeader(), region: r.region, leader: r.leader });
  }

  #pdService(): grpc.UntypedServiceImplementation {
    const c = this.cluster;
    const notBootstrapped = <T>(make: (h: pdpb.ResponseHeader) => T): T => make(this.#errHeader(pdpb.ErrorType.NOT_BOOTSTRAPPED, 'cluster is not bootstrapped'));
    return {
      getMembers: ((_call, callback) => {
        this.#count('GetMembers');
        const leader = c.members.find((m) => m.name === c.leaderName);
        callback(
          null,
          pdpb.GetMembersResponse.fromPartial({
            header: this.#okHeader(),
            members: c.members.map((m) => m.memberInfo()),
            leader: leader?.memberInfo(),
          }),
        );
      }) as grpc.handleUnaryCall<pdpb.GetMembersRequest, pdpb.GetMembersResponse> as Handler,

      tso: ((call) => {
        this.#tsoStreams.add(call);
        call.on('data', (req: pdpb.TsoRequest) => {
          this.#count('Tso');
          this.tsoCounts.push(req.count);
          if (this.behaviour.notLeader || c.leaderName !== this.name) {
            call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'not leader' });
            return;
          }
          if (this.behaviour.holdTso) this.#held.push({ call, req });
          else this.#answerTso(call, req);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
        call.on('close', () => this.#tsoStreams.delete(call));
      }) as grpc.handleBidiStreamingCall<pdpb.TsoRequest, pdpb.TsoResponse> as Handler,

      allocId: this.#unary<pdpb.AllocIDRequest, pdpb.AllocIDResponse>(
        'AllocID',
        () => pdpb.AllocIDResponse.fromPartial({ header: this.#okHeader(), id: c.nextId++ }),
        (header) => pdpb.AllocIDResponse.fromPartial({ header }),
      ),

      isBootstrapped: this.#unary<pdpb.IsBootstrappedRequest, pdpb.IsBootstrappedResponse>(
        'IsBootstrapped',
        () => pdpb.IsBootstrappedResponse.fromPartial({ header: this.#okHeader(), bootstrapped: c.bootstrapped }),
        (header) => pdpb.IsBootstrappedResponse.fromPartial({ header }),
      ),

      bootstrap: this.#unary<pdpb.BootstrapRequest, pdpb.BootstrapResponse>(
        'Bootstrap',
        (req) => {
          if (c.bootstrapped) return pdpb.BootstrapResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.ALREADY_BOOTSTRAPPED, 'already bootstrapped') });
          if (req.store === undefined || req.region === undefined) {
            return pdpb.BootstrapResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.INVALID_VALUE, 'missing store or region') });
          }
          c.bootstrapped = true;
          c.stores.set(req.store.id, req.store);
          c.setRegions([{ region: req.region, leader: req.region.peers[0] }]);
          return pdpb.BootstrapResponse.fromPartial({ header: this.#okHeader() });
        },
        (header) => pdpb.BootstrapResponse.fromPartial({ header }),
      ),

      isSnapshotRecovering: this.#unary<pdpb.IsSnapshotRecoveringRequest, pdpb.IsSnapshotRecoveringResponse>(
        'IsSnapshotRecovering',
        () => pdpb.IsSnapshotRecoveringResponse.fromPartial({ header: this.#okHeader(), marked: false }),
        (header) => pdpb.IsSnapshotRecoveringResponse.fromPartial({ header }),
      ),

      getClusterConfig: this.#unary<pdpb.GetClusterConfigRequest, pdpb.GetClusterConfigResponse>(
        'GetClusterConfig',
        () =>
          c.bootstrapped
            ? pdpb.GetClusterConfigResponse.fromPartial({ header: this.#okHeader(), cluster: { id: c.clusterId, maxPeerCount: 3 } })
            : notBootstrapped((header) => pdpb.GetClusterConfigResponse.fromPartial({ header })),
        (header) => pdpb.GetClusterConfigResponse.fromPartial({ header }),
      ),

      putStore: this.#unary<pdpb.PutStoreRequest, pdpb.PutStoreResponse>(
        'PutStore',
        (req) => {
          if (!c.bootstrapped) return notBootstrapped((header) => pdpb.PutStoreResponse.fromPartial({ header }));
          if (req.store !== undefined) c.stores.set(req.store.id, req.store);
          return pdpb.PutStoreResponse.fromPartial({ header: this.#okHeader() });
        },
        (header) => pdpb.PutStoreResponse.fromPartial({ header }),
      ),

      getStore: this.#unary<pdpb.GetStoreRequest, pdpb.GetStoreResponse>(
        'GetStore',
        (req) => {
          const s = c.stores.get(req.storeId);
          if (s === undefined) return pdpb.GetStoreResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.UNKNOWN, `invalid store ID ${req.storeId}, not found`) });
          if (s.state === metapb.StoreState.Tombstone) {
            return pdpb.GetStoreResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.STORE_TOMBSTONE, `store ${req.storeId} is tombstone`) });
          }
          return pdpb.GetStoreResponse.fromPartial({ header: this.#okHeader(), store: s });
        },
        (header) => pdpb.GetStoreResponse.fromPartial({ header }),
      ),

      getAllStores: this.#unary<pdpb.GetAllStoresRequest, pdpb.GetAllStoresResponse>(
        'GetAllStores',
        (req) =>
          pdpb.GetAllStoresResponse.fromPartial({
            header: this.#okHeader(),
            stores: [...c.stores.values()].filter((s) => !req.excludeTombstoneStores || s.state !== metapb.StoreState.Tombstone),
          }),
        (header) => pdpb.GetAllStoresResponse.fromPartial({ header }),
      ),

      getRegion: this.#unary<pdpb.GetRegionRequest, pdpb.GetRegionResponse>(
        'GetRegion',
        (req) => this.#regionAnswer(c.regionIndexOf(req.regionKey)),
        (header) => pdpb.GetRegionResponse.fromPartial({ header }),
      ),

      getPrevRegion: this.#unary<pdpb.GetRegionRequest, pdpb.GetRegionResponse>(
        'GetPrevRegion',
        (req) => {
          const i = c.regionIndexOf(req.regionKey);
          return this.#regionAnswer(i <= 0 ? -1 : i - 1);
        },
        (header) => pdpb.GetRegionResponse.fromPartial({ header }),
      ),

      getRegionById: this.#unary<pdpb.GetRegionByIDRequest, pdpb.GetRegionResponse>(
        'GetRegionByID',
        (req) => this.#regionAnswer(c.regions.findIndex((r) => r.region.id === req.regionId)),
        (header) => pdpb.GetRegionResponse.fromPartial({ header }),
      ),

      scanRegions: this.#unary<pdpb.ScanRegionsRequest, pdpb.ScanRegionsResponse>(
        'ScanRegions',
        (req) => {
          const out = c.regions.filter(
            (r) =>
              (r.region.endKey.length === 0 || compareBytes(r.region.endKey, req.startKey) > 0) &&
              (req.endKey.length === 0 || compareBytes(r.region.startKey, req.endKey) < 0),
          );
          const limited = req.limit > 0 ? out.slice(0, req.limit) : out;
          return pdpb.ScanRegionsResponse.fromPartial({
            header: this.#okHeader(),
            regions: limited.map((r) => ({ region: r.region, leader: r.leader })),
          });
        },
        (header) => pdpb.ScanRegionsResponse.fromPartial({ header }),
      ),

      askBatchSplit: this.#unary<pdpb.AskBatchSplitRequest, pdpb.AskBatchSplitResponse>(
        'AskBatchSplit',
        (req) => {
          const ids: pdpb.SplitID[] = [];
          for (let i = 0; i < req.splitCount; i++) {
            const newRegionId = c.nextId++;
            ids.push({ newRegionId, newPeerIds: (req.region?.peers ?? []).map(() => c.nextId++) });
          }
          return pdpb.AskBatchSplitResponse.fromPartial({ header: this.#okHeader(), ids });
        },
        (header) => pdpb.AskBatchSplitResponse.fromPartial({ header }),
      ),

      reportBatchSplit: this.#unary<pdpb.ReportBatchSplitRequest, pdpb.ReportBatchSplitResponse>(
        'ReportBatchSplit',
        (req) => {
          const ids = new Set(req.regions.map((r) => r.id));
          const kept = c.regions.filter((r) => !ids.has(r.region.id) && !req.regions.some((n) => n.startKey.length === 0 || compareBytes(n.startKey, r.region.startKey) === 0));
          c.setRegions([...kept, ...req.regions.map((region) => ({ region, leader: region.peers[0] }))]);
          return pdpb.ReportBatchSplitResponse.fromPartial({ header: this.#okHeader() });
        },
        (header) => pdpb.ReportBatchSplitResponse.fromPartial({ header }),
      ),

      storeHeartbeat: this.#unary<pdpb.StoreHeartbeatRequest, pdpb.StoreHeartbeatResponse>(
        'StoreHeartbeat',
        (req) => {
          if (req.stats !== undefined) this.storeHeartbeats.push(req.stats);
          return pdpb.StoreHeartbeatResponse.fromPartial({ header: this.#okHeader(), clusterVersion: '8.5.0' });
        },
        (header) => pdpb.StoreHeartbeatResponse.fromPartial({ header }),
      ),

      regionHeartbeat: ((call) => {
        this.#hbStreams.add(call);
        call.on('data', (req: pdpb.RegionHeartbeatRequest) => {
          this.#count('RegionHeartbeat');
          this.heartbeats.push(req);
          const region = req.region;
          if (region === undefined) {
            call.write(pdpb.RegionHeartbeatResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.INVALID_VALUE, 'missing region') }));
            return;
          }
          // Deterministic "scheduler": a region with a single peer is asked to add a peer on store 2.
          if (region.peers.length === 1) {
            call.write(
              pdpb.RegionHeartbeatResponse.fromPartial({
                header: this.#okHeader(),
                regionId: region.id,
                regionEpoch: region.regionEpoch,
                targetPeer: req.leader,
                changePeer: { peer: { id: 9000n + region.id, storeId: 2n }, changeType: 0 },
              }),
            );
          }
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
        call.on('close', () => this.#hbStreams.delete(call));
      }) as grpc.handleBidiStreamingCall<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse> as Handler,

      getGcSafePoint: this.#unary<pdpb.GetGCSafePointRequest, pdpb.GetGCSafePointResponse>(
        'GetGCSafePoint',
        () => pdpb.GetGCSafePointResponse.fromPartial({ header: this.#okHeader(), safePoint: c.gcSafePoint }),
        (header) => pdpb.GetGCSafePointResponse.fromPartial({ header }),
      ),

      updateGcSafePoint: this.#unary<pdpb.UpdateGCSafePointRequest, pdpb.UpdateGCSafePointResponse>(
        'UpdateGCSafePoint',
        (req) => {
          if (req.safePoint > c.gcSafePoint) c.gcSafePoint = req.safePoint;
          return pdpb.UpdateGCSafePointResponse.fromPartial({ header: this.#okHeader(), newSafePoint: c.gcSafePoint });
        },
        (header) => pdpb.UpdateGCSafePointResponse.fromPartial({ header }),
      ),

      updateServiceGcSafePoint: this.#unary<pdpb.UpdateServiceGCSafePointRequest, pdpb.UpdateServiceGCSafePointResponse>(
        'UpdateServiceGCSafePoint',
        (req) => {
          const id = new TextDecoder().decode(req.serviceId);
          if (req.TTL <= 0n) c.serviceSafePoints.delete(id);
          else c.serviceSafePoints.set(id, req.safePoint);
          let min = req.safePoint;
          for (const v of c.serviceSafePoints.values()) if (v < min) min = v;
          return pdpb.UpdateServiceGCSafePointResponse.fromPartial({ header: this.#okHeader(), serviceId: req.serviceId, TTL: req.TTL, minSafePoint: min });
        },
        (header) => pdpb.UpdateServiceGCSafePointResponse.fromPartial({ header }),
      ),
    };
  }

  #keyspaceService(): grpc.UntypedServiceImplementation {
    return {
      loadKeyspace: this.#unary<keyspacepb.LoadKeyspaceRequest, keyspacepb.LoadKeyspaceResponse>(
        'LoadKeyspace',
        (req) =>
          req.name === 'DEFAULT'
            ? keyspacepb.LoadKeyspaceResponse.fromPartial({
                header: this.#okHeader(),
                keyspace: { id: 0, name: 'DEFAULT', state: keyspacepb.KeyspaceState.ENABLED },
              })
            : keyspacepb.LoadKeyspaceResponse.fromPartial({ header: this.#errHeader(pdpb.ErrorType.ENTRY_NOT_FOUND, `keyspace ${req.name} not found`) }),
        (header) => keyspacepb.LoadKeyspaceResponse.fromPartial({ header }),
      ),
    };
  }
}

/** Builds a region with one peer per store id (peer ids = region id * 10 + store id). */
export function makeRegion(id: bigint, start: string, end: string, storeIds: readonly bigint[] = [1n], version = 1n): metapb.Region {
  const enc = new TextEncoder();
  return metapb.Region.fromPartial({
    id,
    startKey: enc.encode(start),
    endKey: enc.encode(end),
    regionEpoch: { confVer: 1n, version },
    peers: storeIds.map((s) => ({ id: id * 10n + s, storeId: s })),
  });
}
