import { metapb } from '@tikv-ts/proto';
import type { RegionInfo } from '../region-tree';
import type { ClusterSnapshot } from './cluster-snapshot';
import type { OperatorInit } from './operator';
import { movePeerSteps, removePeerSteps, type PeerIdAllocator } from './operator-builder';

/**
 * Keeps every region at `max-replicas` healthy voters (PD's replica checker, without placement
 * labels). For a region with a leader and no joint-consensus peers, the first rule that applies
 * gives the operator (kind `replica`):
 *
 * 1. `remove-orphan-learner`: a learner that is pending, reported down, or on a bad store, with
 *    no operator driving it (the checker only runs for regions without one) is removed.
 * 2. `promote-learner`: a caught-up learner is promoted while voters are fewer than max-replicas.
 * 3. `make-up-replica` (high priority): fewer voters than max-replicas → add a learner on the
 *    best store (see {@link ClusterSnapshot.bestStoreForNewPeer}), then promote it.
 * 4. `replace-down-replica` / `replace-offline-replica` (high priority): a voter on a down store
 *    (no heartbeat for max-store-down-time, or reported down by the leader for that long), on an
 *    offline, tombstone or unknown store → move it to the best store (add learner, promote, move
 *    the leader away if needed, remove). With no store to move to, nothing is done.
 * 5. `remove-extra-replica`: more voters than max-replicas → remove the worst one (a bad one
 *    first, else the one on the store with most regions, highest id on ties), moving the leader
 *    away first if it is there.
 * 6. `remove-extra-learner`: a learner while voters are at max-replicas is removed.
 *
 * Pure: reads only its arguments; new peer ids come from `allocPeerId` (no operator when it has
 * none).
 */
export class ReplicaChecker {
  /** Checker name (PD: `replica-checker`). */
  readonly name = 'replica-checker';

  /** The operator `region` needs now, or undefined. */
  check(
    region: RegionInfo,
    snap: ClusterSnapshot,
    allocPeerId: PeerIdAllocator,
  ): OperatorInit | undefined {
    if (region.leader === undefined) return undefined;
    const peers = region.meta.peers;
    if (
      peers.some(
        (p) => p.role === metapb.PeerRole.IncomingVoter || p.role === metapb.PeerRole.DemotingVoter,
      )
    )
      return undefined;
    const max = snap.maxReplicas;
    const downMs = snap.config.maxStoreDownTimeMs;
    const isPending = (p: metapb.Peer): boolean => region.pendingPeers.some((q) => q.id === p.id);
    const isReportedDown = (p: metapb.Peer): boolean =>
      region.downPeers.some((d) => d.peer?.id === p.id && Number(d.downSeconds) * 1000 >= downMs);
    const isBad = (p: metapb.Peer): boolean => snap.isStoreBad(p.storeId) || isReportedDown(p);
    const voters = peers.filter((p) => p.role === metapb.PeerRole.Voter);
    const learners = peers.filter((p) => p.role === metapb.PeerRole.Learner);
    const brief = (what: string): string => `${what} (region ${region.meta.id})`;

    // 1. Orphan learners that are not usable.
    for (const l of learners) {
      if (isPending(l) || isBad(l) || region.downPeers.some((d) => d.peer?.id === l.id)) {
        return {
          desc: 'remove-orphan-learner',
          brief: brief(`remove learner ${l.id} on store ${l.storeId}`),
          kind: 'replica',
          region,
          steps: [{ type: 'remove-peer', storeId: l.storeId, peerId: l.id }],
        };
      }
    }
    // 2. Promote a caught-up learner while voters are missing.
    const learner = learners[0];
    if (learner !== undefined && voters.length < max) {
      return {
        desc: 'promote-learner',
        brief: brief(`promote learner ${learner.id} on store ${learner.storeId}`),
        kind: 'replica',
        priority: 'high',
        region,
        steps: [{ type: 'promote-learner', storeId: learner.storeId, peerId: learner.id }],
      };
    }
    // 3. Missing voters.
    if (voters.length < max) {
      const target = snap.bestStoreForNewPeer(region);
      if (target === undefined) return undefined;
      const id = allocPeerId();
      if (id === undefined) return undefined;
      return {
        desc: 'make-up-replica',
        brief: brief(`add replica on store ${target.id}`),
        kind: 'replica',
        priority: 'high',
        region,
        steps: [
          { type: 'add-learner', storeId: target.id, peerId: id },
          { type: 'promote-learner', storeId: target.id, peerId: id },
        ],
      };
    }
    // 4. Replace a voter on a lost store.
    const bad = voters.find(isBad);
    if (bad !== undefined && voters.length <= max) {
      const store = snap.store(bad.storeId);
      const desc =
        store !== undefined && store.isOffline && !store.isDown
          ? 'replace-offline-replica'
          : 'replace-down-replica';
      const target = snap.bestStoreForNewPeer(region);
      if (target === undefined) return undefined;
      const id = allocPeerId();
      if (id === undefined) return undefined;
      const steps = movePeerSteps(region, snap, {
        fromStoreId: bad.storeId,
        toStoreId: target.id,
        newPeerId: id,
      });
      if (steps === undefined) return undefined;
      return {
        desc,
        brief: brief(`move replica from store ${bad.storeId} to store ${target.id}`),
        kind: 'replica',
        priority: 'high',
        region,
        steps,
      };
    }
    // 5. Extra voters.
    if (voters.length > max) {
      let worst: metapb.Peer | undefined = bad;
      if (worst === undefined) {
        let worstCount = -Infinity;
        for (const v of voters) {
          const n = snap.store(v.storeId)?.regionCount ?? Infinity;
          if (
            n > worstCount ||
            (n === worstCount && worst !== undefined && v.storeId > worst.storeId)
          ) {
            worst = v;
            worstCount = n;
          }
        }
      }
      if (worst === undefined) return undefined;
      const steps = removePeerSteps(region, snap, { storeId: worst.storeId });
      if (steps === undefined) return undefined;
      return {
        desc: 'remove-extra-replica',
        brief: brief(`remove replica on store ${worst.storeId}`),
        kind: 'replica',
        region,
        steps,
      };
    }
    // 6. Learners beyond the voters.
    if (learner !== undefined) {
      return {
        desc: 'remove-extra-learner',
        brief: brief(`remove learner ${learner.id} on store ${learner.storeId}`),
        kind: 'replica',
        region,
        steps: [{ type: 'remove-peer', storeId: learner.storeId, peerId: learner.id }],
      };
    }
    return undefined;
  }
}
