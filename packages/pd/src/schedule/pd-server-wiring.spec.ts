// End-to-end scheduling of a real PdServer over gRPC and HTTP on 127.0.0.1 with its built-in
// coordinator (PdServerOptions.scheduling): heartbeats drive operators, the coordinator's ticks
// push new ones on the leader's stream, and the HTTP API lists them.
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { eraftpb, metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { PdServer } from '../pd-server';
import { call } from '../testdata/grpc-call';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import type { OperatorJson } from './operator';

describe('scheduling wired into PdServer', () => {
  let pd: PdServer;
  let server: net.Server;
  let client: pdpb.PDClient;
  const clock = new ManualClock();

  beforeAll(async () => {
    pd = await PdServer.start({
      engine: MemoryEngine.open(),
      clock,
      rng: new SeededRng(1n),
      config: { name: 'pd-sched' },
      scheduling: { intervalMs: 100 },
    });
    expect(pd.coordinator).toBeDefined();
    server = net.createServer((socket) => pd.handleConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    client = new pdpb.PDClient(
      `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      grpc.credentials.createInsecure(),
    );
  });

  afterAll(async () => {
    client.close();
    await pd.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('pushes make-up-replica steps on the region heartbeat stream and lists them over HTTP', async () => {
    const header = { clusterId: pd.clusterId, senderId: 0n };
    const id = async (): Promise<bigint> => (await call(client, client.allocId, { header })).id;
    const [s1, s2, s3, regionId, peerId] = [
      await id(),
      await id(),
      await id(),
      await id(),
      await id(),
    ];
    const store = (sid: bigint): metapb.Store =>
      metapb.Store.fromPartial({ id: sid, address: `127.0.0.1:${30000 + Number(sid)}` });
    let region = metapb.Region.fromPartial({
      id: regionId,
      regionEpoch: { confVer: 1n, version: 1n },
      peers: [{ id: peerId, storeId: s1 }],
    });
    await call(
      client,
      client.bootstrap,
      pdpb.BootstrapRequest.fromPartial({ header, store: store(s1), region }),
    );
    for (const sid of [s2, s3])
      await call(
        client,
        client.putStore,
        pdpb.PutStoreRequest.fromPartial({ header, store: store(sid) }),
      );
    for (const sid of [s1, s2, s3])
      await call(
        client,
        client.storeHeartbeat,
        pdpb.StoreHeartbeatRequest.fromPartial({ header, stats: { storeId: sid } }),
      );

    const stream = client.regionHeartbeat();
    const received: pdpb.RegionHeartbeatResponse[] = [];
    let wake: (() => void) | undefined;
    stream.on('data', (r: pdpb.RegionHeartbeatResponse) => {
      received.push(r);
      wake?.();
    });
    stream.on('error', () => undefined);
    const next = async (): Promise<pdpb.RegionHeartbeatResponse> => {
      while (received.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return received.shift() as pdpb.RegionHeartbeatResponse;
    };
    const heartbeat = (pending: metapb.Peer[] = []): void => {
      stream.write(
        pdpb.RegionHeartbeatRequest.fromPartial({
          header,
          region,
          leader: region.peers[0],
          pendingPeers: pending,
          term: 1n,
        }),
      );
    };

    heartbeat();
    // Wait until PD has applied the heartbeat (term 1), which also registered the stream of store s1.
    while (pd.cluster.getRegionById(regionId).term !== 1n)
      await call(client, client.getMembers, pdpb.GetMembersRequest.fromPartial({ header }));
    // Tick until the coordinator has peer ids (its pool refills asynchronously) and pushes a step.
    for (let i = 0; i < 100 && received.length === 0; i++) {
      clock.advance(100);
      await call(client, client.getMembers, pdpb.GetMembersRequest.fromPartial({ header }));
    }
    const add = await next();
    expect(add.header?.clusterId).toBe(pd.clusterId);
    expect(add.regionId).toBe(regionId);
    expect(add.targetPeer?.id).toBe(peerId);
    expect(add.changePeer?.changeType).toBe(eraftpb.ConfChangeType.AddLearnerNode);
    const learner = add.changePeer?.peer as metapb.Peer;
    expect([s2, s3]).toContain(learner.storeId);

    const res = await fetch(
      `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/pd/api/v1/operators`,
    );
    const ops = (await res.json()) as OperatorJson[];
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({
      desc: 'make-up-replica',
      status: 'running',
      region_id: regionId.toString(),
    });
    const sch = await fetch(
      `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/pd/api/v1/schedulers`,
    );
    expect(await sch.json()).toEqual(['balance-leader-scheduler', 'balance-region-scheduler']);

    // TiKV applied the learner; while it is pending PD repeats the step, then asks for the promotion.
    region = metapb.Region.fromPartial({
      ...region,
      regionEpoch: { confVer: 2n, version: 1n },
      peers: [...region.peers, learner],
    });
    heartbeat([learner]);
    expect((await next()).changePeer?.changeType).toBe(eraftpb.ConfChangeType.AddLearnerNode);
    heartbeat();
    const promote = await next();
    expect(promote.changePeer).toMatchObject({
      changeType: eraftpb.ConfChangeType.AddNode,
      peer: { id: learner.id, role: metapb.PeerRole.Voter },
    });
    expect(promote.regionEpoch).toEqual({ confVer: 2n, version: 1n });
    stream.end();
  });
});
