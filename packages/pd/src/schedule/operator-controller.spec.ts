import { eraftpb, metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import type { StoreInfo } from '../cluster';
import { EMPTY_REGION_STATS, type RegionInfo } from '../region-tree';
import { ClusterSnapshot } from './cluster-snapshot';
import { defaultScheduleConfig, type ScheduleCluster, type ScheduleConfig } from './config';
import { Coordinator } from './coordinator';
import type { OperatorInit } from './operator';
import { OperatorController } from './operator-controller';
import { stepResponse } from './operator-step';
import { PeerIdPool } from './peer-id-pool';
import { ReplicaChecker } from './replica-checker';

const voter = (id: bigint, storeId: bigint): metapb.Peer =>
  metapb.Peer.fromPartial({ id, storeId, role: metapb.PeerRole.Voter });
const learner = (id: bigint, storeId: bigint): metapb.Peer =>
  metapb.Peer.fromPartial({ id, storeId, role: metapb.PeerRole.Learner });

function region(
  peers: metapb.Peer[],
  opts: {
    id?: bigint;
    confVer?: bigint;
    version?: bigint;
    leader?: bigint;
    pending?: bigint[];
    down?: [bigint, bigint][];
  } = {},
): RegionInfo {
  const meta = metapb.Region.fromPartial({
    id: opts.id ?? 10n,
    regionEpoch: { confVer: opts.confVer ?? 3n, version: opts.version ?? 2n },
    peers,
  });
  const leaderStore = opts.leader ?? peers[0]?.storeId;
  return {
    meta,
    leader: peers.find((p) => p.storeId === leaderStore),
    downPeers: (opts.down ?? []).map(([peerId, secs]) =>
      pdpb.PeerStats.fromPartial({ peer: peers.find((p) => p.id === peerId), downSeconds: secs }),
    ),
    pendingPeers: peers.filter((p) => (opts.pending ?? []).includes(p.id)),
    term: 1n,
    stats: EMPTY_REGION_STATS,
  };
}

const R3 = (o: Parameters<typeof region>[1] = {}): RegionInfo =>
  region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n)], o);

function controller(config: Partial<ScheduleConfig> = {}): {
  clock: ManualClock;
  oc: OperatorController;
} {
  const clock = new ManualClock();
  return {
    clock,
    oc: new OperatorController({ clock, config: { ...defaultScheduleConfig(), ...config } }),
  };
}

const moveOp = (
  r: RegionInfo,
  kind: OperatorInit['kind'] = 'region',
  priority: OperatorInit['priority'] = 'normal',
): OperatorInit => ({
  desc: 'balance-region',
  brief: 'move',
  kind,
  priority,
  region: r,
  steps: [
    { type: 'add-learner', storeId: 4n, peerId: 14n },
    { type: 'promote-learner', storeId: 4n, peerId: 14n },
    { type: 'transfer-leader', fromStoreId: 1n, toStoreId: 2n },
    { type: 'remove-peer', storeId: 1n, peerId: 11n },
  ],
});

describe('OperatorController', () => {
  it('walks an operator through its steps as heartbeats show their effects, sending each step as PD does', () => {
    const { oc } = controller();
    const r0 = R3();
    expect(oc.add(moveOp(r0)).ok).toBe(true);
    const first = oc.dispatch(r0);
    expect(first).toMatchObject({
      regionId: 10n,
      regionEpoch: { confVer: 3n, version: 2n },
      targetPeer: { id: 11n, storeId: 1n },
      changePeer: {
        peer: { id: 14n, storeId: 4n, role: metapb.PeerRole.Learner },
        changeType: eraftpb.ConfChangeType.AddLearnerNode,
      },
    });
    // Learner added but still pending: the conf change is explained by the step, so not stale; resent.
    const r1 = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), learner(14n, 4n)], {
      confVer: 4n,
      pending: [14n],
    });
    expect(oc.dispatch(r1)?.changePeer?.changeType).toBe(eraftpb.ConfChangeType.AddLearnerNode);
    const r2 = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), learner(14n, 4n)], {
      confVer: 4n,
    });
    expect(oc.dispatch(r2)?.changePeer).toMatchObject({
      peer: { id: 14n, role: metapb.PeerRole.Voter },
      changeType: eraftpb.ConfChangeType.AddNode,
    });
    const r3 = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), voter(14n, 4n)], {
      confVer: 5n,
    });
    expect(oc.dispatch(r3)?.transferLeader).toMatchObject({ peer: { id: 12n, storeId: 2n } });
    const r4 = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), voter(14n, 4n)], {
      confVer: 5n,
      leader: 2n,
    });
    expect(oc.dispatch(r4)?.changePeer).toMatchObject({
      peer: { id: 11n, storeId: 1n },
      changeType: eraftpb.ConfChangeType.RemoveNode,
    });
    const r5 = region([voter(12n, 2n), voter(13n, 3n), voter(14n, 4n)], {
      confVer: 6n,
      leader: 2n,
    });
    expect(oc.dispatch(r5)).toBeUndefined();
    expect(oc.running()).toEqual([]);
    expect(oc.history()[0]?.status).toBe('success');
  });

  it('cancels an operator on a stale epoch: an unexplained conf change, or a version change', () => {
    const { oc } = controller();
    expect(oc.add(moveOp(R3())).ok).toBe(true);
    // Someone else changed the membership (conf_ver 4) while our learner is not there.
    expect(oc.dispatch(R3({ confVer: 4n }))).toBeUndefined();
    expect(oc.history()[0]).toMatchObject({ status: 'canceled' });
    expect(oc.history()[0]?.reason).toMatch(/stale: conf version 4/);

    expect(oc.add(moveOp(R3())).ok).toBe(true);
    expect(oc.dispatch(R3({ version: 3n }))).toBeUndefined();
    expect(oc.history()[0]?.reason).toMatch(/stale: region version changed from 2 to 3/);
  });

  it('cancels when the current step cannot progress (removing the leader, transfer to a missing peer)', () => {
    const { oc } = controller();
    const r = R3();
    oc.add({
      desc: 'x',
      brief: 'x',
      kind: 'replica',
      region: r,
      steps: [{ type: 'remove-peer', storeId: 1n, peerId: 11n }],
    });
    expect(oc.dispatch(r)).toBeUndefined();
    expect(oc.history()[0]?.reason).toMatch(/cannot remove the leader/);
    oc.add({
      desc: 'y',
      brief: 'y',
      kind: 'leader',
      region: r,
      steps: [{ type: 'transfer-leader', fromStoreId: 1n, toStoreId: 9n }],
    });
    expect(oc.dispatch(r)).toBeUndefined();
    expect(oc.history()[0]?.reason).toMatch(/no peer on target store 9/);
  });

  it('times out a step past its deadline (slow for adding peers, fast for leader moves), on heartbeat or tick', () => {
    const { oc, clock } = controller({ fastStepTimeoutMs: 1_000, slowStepTimeoutMs: 10_000 });
    const r = R3();
    oc.add(moveOp(r));
    clock.advance(9_000);
    expect(oc.dispatch(r)).toBeDefined();
    clock.advance(1_001);
    expect(oc.dispatch(r)).toBeUndefined();
    expect(oc.history()[0]?.status).toBe('timeout');

    oc.add({
      desc: 'bl',
      brief: 'bl',
      kind: 'leader',
      region: r,
      steps: [{ type: 'transfer-leader', fromStoreId: 1n, toStoreId: 2n }],
    });
    clock.advance(1_001);
    expect(oc.checkTimeouts().map((op) => op.desc)).toEqual(['bl']);
    expect(oc.running()).toEqual([]);
  });

  it('keeps one operator per region; only a higher priority replaces it', () => {
    const { oc } = controller();
    const r = R3();
    const a = oc.add(moveOp(r, 'region', 'normal'));
    expect(a.ok).toBe(true);
    expect(oc.add(moveOp(r, 'region', 'normal'))).toMatchObject({
      ok: false,
      refusal: 'region-busy',
    });
    const b = oc.add(moveOp(r, 'replica', 'high'));
    expect(b.ok && b.replaced?.status).toBe('replaced');
    expect(oc.running()).toHaveLength(1);
  });

  it('enforces the per-kind limits', () => {
    const { oc } = controller({ leaderScheduleLimit: 2 });
    const lead = (id: bigint): OperatorInit => ({
      desc: 'bl',
      brief: 'bl',
      kind: 'leader',
      region: R3({ id }),
      steps: [{ type: 'transfer-leader', fromStoreId: 1n, toStoreId: 2n }],
    });
    expect(oc.add(lead(1n)).ok).toBe(true);
    expect(oc.add(lead(2n)).ok).toBe(true);
    expect(oc.isKindAllowed('leader')).toBe(false);
    expect(oc.add(lead(3n))).toMatchObject({ ok: false, refusal: 'kind-limit' });
    expect(oc.add({ ...lead(3n), kind: 'split' }).ok).toBe(true);
  });

  it('enforces store limits as token buckets refilled by the clock', () => {
    const { oc, clock } = controller({ storeLimitAddPeerPerMin: 2 });
    const add = (id: bigint): OperatorInit => ({
      desc: 'a',
      brief: 'a',
      kind: 'replica',
      region: R3({ id }),
      steps: [{ type: 'add-learner', storeId: 4n, peerId: 100n + id }],
    });
    expect(oc.add(add(1n)).ok).toBe(true);
    expect(oc.add(add(2n)).ok).toBe(true);
    expect(oc.add(add(3n))).toMatchObject({ ok: false, refusal: 'store-limit' });
    clock.advance(29_000);
    expect(oc.add(add(3n)).ok).toBe(false);
    clock.advance(1_000);
    expect(oc.storeLimitAvailable(4n, 'add-peer')).toBe(1);
    expect(oc.add(add(3n)).ok).toBe(true);
    clock.advance(10 * 60_000);
    expect(oc.storeLimitAvailable(4n, 'add-peer')).toBe(2);
  });

  it('counts as influence only the steps whose effect PD does not see yet', () => {
    const { oc } = controller();
    oc.add(moveOp(R3()));
    expect(oc.influence(() => R3())[0]?.map((s) => s.type)).toEqual([
      'add-learner',
      'promote-learner',
      'transfer-leader',
      'remove-peer',
    ]);
    // The learner is there but pending: the add step is current but no longer adds load.
    const pending = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), learner(14n, 4n)], {
      confVer: 4n,
      pending: [14n],
    });
    oc.dispatch(pending);
    expect(oc.influence(() => pending)[0]?.map((s) => s.type)).toEqual([
      'promote-learner',
      'transfer-leader',
      'remove-peer',
    ]);
  });

  it('renders operators as JSON for the HTTP API', () => {
    const { oc } = controller();
    oc.add(moveOp(R3()));
    expect(oc.running()[0]?.toJson()).toMatchObject({
      desc: 'balance-region',
      kind: 'region',
      region_id: '10',
      region_epoch: { conf_ver: '3', version: '2' },
      steps: [
        'add learner peer 14 on store 4',
        'promote learner peer 14 on store 4 to voter',
        'transfer leader from store 1 to store 2',
        'remove peer on store 1',
      ],
      current_step: 0,
      status: 'running',
    });
  });
});

describe('stepResponse', () => {
  it('sends a split with its keys or policy', () => {
    const r = R3();
    const keys = [new Uint8Array([7])];
    expect(
      stepResponse(
        {
          type: 'split-region',
          policy: pdpb.CheckPolicy.USEKEY,
          keys,
          startKey: new Uint8Array(),
          endKey: new Uint8Array(),
        },
        r,
      ).splitRegion,
    ).toEqual({
      policy: pdpb.CheckPolicy.USEKEY,
      keys,
    });
  });
});

function store(id: bigint, lastHeartbeatMs: number, state = metapb.StoreState.Up): StoreInfo {
  return { meta: metapb.Store.fromPartial({ id, state }), stats: undefined, lastHeartbeatMs };
}

function view(stores: StoreInfo[], regions: RegionInfo[], maxReplicas = 3): ScheduleCluster {
  return {
    stores: () => stores,
    regions: () => regions,
    region: (id) => regions.find((r) => r.meta.id === id),
    maxReplicas: () => maxReplicas,
  };
}

describe('ReplicaChecker', () => {
  const config = { ...defaultScheduleConfig(), maxStoreDownTimeMs: 60_000 };
  const now = 1_000_000;
  const ids = (): (() => bigint) => {
    let n = 100n;
    return () => n++;
  };

  it('replaces a peer the leader reports down for max-store-down-time even if its store still heartbeats', () => {
    const r = R3({ down: [[13n, 59n]] });
    const stores = [1n, 2n, 3n, 4n].map((id) => store(id, now));
    expect(
      new ReplicaChecker().check(
        r,
        new ClusterSnapshot(view(stores, [r]), { config, nowMs: now }),
        ids(),
      ),
    ).toBeUndefined();
    const r2 = R3({ down: [[13n, 60n]] });
    const op = new ReplicaChecker().check(
      r2,
      new ClusterSnapshot(view(stores, [r2]), { config, nowMs: now }),
      ids(),
    );
    expect(op?.desc).toBe('replace-down-replica');
    expect(op?.steps.map((s) => s.type)).toEqual(['add-learner', 'promote-learner', 'remove-peer']);
  });

  it('picks the emptiest up store, skipping down, disconnected, busy and offline ones, and counts in-flight influence', () => {
    const r = region([voter(11n, 1n)]);
    const stores = [
      store(1n, now),
      store(2n, now - 61_000),
      store(3n, now - 21_000),
      store(4n, now, metapb.StoreState.Offline),
      store(5n, now),
      store(6n, now),
    ];
    const snap = new ClusterSnapshot(view(stores, [r]), {
      config,
      nowMs: now,
      influence: [[{ type: 'add-learner', storeId: 5n, peerId: 1n }]],
    });
    const op = new ReplicaChecker().check(r, snap, ids());
    expect(op?.steps[0]).toEqual({ type: 'add-learner', storeId: 6n, peerId: 100n });
    expect(snap.store(2n)?.isDown).toBe(true);
    expect(snap.store(3n)?.isDisconnected).toBe(true);
  });

  it('does nothing without a leader, a store to go to, or a peer id', () => {
    const stores = [store(1n, now)];
    const r = region([voter(11n, 1n)]);
    expect(
      new ReplicaChecker().check(
        r,
        new ClusterSnapshot(view(stores, [r]), { config, nowMs: now }),
        ids(),
      ),
    ).toBeUndefined();
    const stores2 = [store(1n, now), store(2n, now)];
    expect(
      new ReplicaChecker().check(
        r,
        new ClusterSnapshot(view(stores2, [r]), { config, nowMs: now }),
        () => undefined,
      ),
    ).toBeUndefined();
    const noLeader = { ...r, leader: undefined };
    expect(
      new ReplicaChecker().check(
        noLeader,
        new ClusterSnapshot(view(stores2, [r]), { config, nowMs: now }),
        ids(),
      ),
    ).toBeUndefined();
  });

  it('removes a leftover learner that is pending, and promotes a caught-up one', () => {
    const stores = [1n, 2n, 3n, 4n].map((id) => store(id, now));
    const pending = region([voter(11n, 1n), voter(12n, 2n), learner(14n, 4n)], { pending: [14n] });
    expect(
      new ReplicaChecker().check(
        pending,
        new ClusterSnapshot(view(stores, [pending]), { config, nowMs: now }),
        ids(),
      )?.desc,
    ).toBe('remove-orphan-learner');
    const ready = region([voter(11n, 1n), voter(12n, 2n), learner(14n, 4n)]);
    expect(
      new ReplicaChecker().check(
        ready,
        new ClusterSnapshot(view(stores, [ready]), { config, nowMs: now }),
        ids(),
      )?.desc,
    ).toBe('promote-learner');
    const extra = region([voter(11n, 1n), voter(12n, 2n), voter(13n, 3n), learner(14n, 4n)]);
    expect(
      new ReplicaChecker().check(
        extra,
        new ClusterSnapshot(view(stores, [extra]), { config, nowMs: now }),
        ids(),
      )?.desc,
    ).toBe('remove-extra-learner');
  });
});

describe('Coordinator', () => {
  it('pushes the first step of a new operator to the leader store at once and lists it', () => {
    const clock = new ManualClock();
    const r = region([voter(11n, 1n)]);
    const stores = [1n, 2n, 3n].map((id) => store(id, clock.nowMs()));
    let next = 100n;
    const co = new Coordinator({
      cluster: view(stores, [r]),
      clock,
      rng: new SeededRng(1n),
      allocPeerId: () => next++,
      clusterId: 9n,
    });
    const out = co.tick();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      storeId: 1n,
      regionId: 10n,
      response: { header: { clusterId: 9n }, changePeer: { peer: { id: 100n, storeId: 2n } } },
    });
    expect(co.listOperators().map((o) => o.desc)).toEqual(['make-up-replica']);
    expect(co.listSchedulers()).toEqual(['balance-leader-scheduler', 'balance-region-scheduler']);
    expect(co.removeScheduler('balance-leader-scheduler')).toBe(true);
    expect(co.listSchedulers()).toEqual(['balance-region-scheduler']);
    // The heartbeat answers with the same step again until it shows the learner.
    expect(co.onRegionHeartbeat(r)?.changePeer?.peer?.id).toBe(100n);
  });

  it('cancels the operator of a region that disappeared', () => {
    const clock = new ManualClock();
    const r = region([voter(11n, 1n)]);
    const regions = [r];
    const stores = [1n, 2n, 3n].map((id) => store(id, clock.nowMs()));
    let next = 100n;
    const co = new Coordinator({
      cluster: view(stores, regions),
      clock,
      rng: new SeededRng(1n),
      allocPeerId: () => next++,
      schedulers: [],
    });
    co.tick();
    regions.pop();
    co.tick();
    expect(co.listOperatorHistory()[0]).toMatchObject({
      status: 'canceled',
      reason: 'region 10 is gone',
    });
  });
});

describe('PeerIdPool', () => {
  it('hands out ids synchronously from batches allocated asynchronously', async () => {
    let next = 1n;
    const calls: number[] = [];
    const pool = new PeerIdPool(
      (n) => {
        calls.push(n);
        const ids = Array.from({ length: n }, () => next++);
        return Promise.resolve(ids);
      },
      { batch: 4 },
    );
    expect(pool.take()).toBeUndefined();
    await pool.refill();
    await Promise.resolve();
    expect(pool.size).toBe(4);
    expect([pool.take(), pool.take()]).toEqual([1n, 2n]);
    await Promise.resolve();
    await Promise.resolve();
    expect(pool.take()).toBe(3n);
    expect(calls[0]).toBe(4);
  });

  it('reports a failed refill and tries again on the next take', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const pool = new PeerIdPool(
      () => (fail ? Promise.reject(new Error('pd down')) : Promise.resolve([5n])),
      { batch: 1, onError: (e) => errors.push(e) },
    );
    await pool.refill();
    expect(errors).toHaveLength(1);
    fail = false;
    await pool.refill();
    expect(pool.take()).toBe(5n);
  });
});

describe('Coordinator.start', () => {
  it('ticks on the injected clock until stopped', () => {
    const clock = new ManualClock();
    const r = region([voter(11n, 1n)]);
    const stores = [1n, 2n, 3n].map((id) => store(id, clock.nowMs()));
    let next = 100n;
    const co = new Coordinator({
      cluster: view(stores, [r]),
      clock,
      rng: new SeededRng(1n),
      allocPeerId: () => next++,
      schedulers: [],
    });
    const got: bigint[] = [];
    co.start(100, (d) => got.push(d.regionId));
    expect(() => co.start(100, () => undefined)).toThrow(RangeError);
    clock.advance(99);
    expect(got).toEqual([]);
    clock.advance(1);
    expect(got).toEqual([10n]);
    co.controller.cancel(10n, 'test');
    co.stop();
    clock.advance(1_000);
    expect(got).toEqual([10n]);
  });
});
