import { metapb } from '@tikv-ts/proto';
import type { RegionInfo } from '../region-tree';
import type { ClusterSnapshot } from './cluster-snapshot';
import type { OperatorStep } from './operator-step';

/** Allocates a new peer id, or returns undefined when none is available right now. */
export type PeerIdAllocator = () => bigint | undefined;

/**
 * The voter that should take the leadership away from `fromStoreId`: a voter on another store
 * that can receive leaders and is neither pending nor reported down, fewest leaders first, then
 * lowest store id. `extra` is a store about to hold a new voter (counted as a candidate).
 */
export function pickLeaderTarget(
  region: RegionInfo,
  snap: ClusterSnapshot,
  options: { readonly fromStoreId: bigint; readonly extra?: bigint },
): bigint | undefined {
  const { fromStoreId, extra } = options;
  const candidates: bigint[] = [];
  for (const p of region.meta.peers) {
    if (p.storeId === fromStoreId || p.role !== metapb.PeerRole.Voter) continue;
    if (
      region.pendingPeers.some((q) => q.id === p.id) ||
      region.downPeers.some((d) => d.peer?.id === p.id)
    )
      continue;
    candidates.push(p.storeId);
  }
  if (extra !== undefined) candidates.push(extra);
  let best: bigint | undefined;
  let bestLeaders = Infinity;
  for (const id of candidates) {
    if (!snap.canReceive(id)) continue;
    const n = snap.store(id)?.leaderCount ?? Infinity;
    if (n < bestLeaders || (n === bestLeaders && best !== undefined && id < best)) {
      best = id;
      bestLeaders = n;
    }
  }
  return best;
}

/**
 * Steps that move the peer on `fromStoreId` to `toStoreId` without ever going below the
 * region's voter count (PD's move-peer operator): add a learner on the target, promote it, move
 * the leader away from the source if it is there, then remove the source peer. Undefined when
 * the source holds the leader and no voter can take it.
 */
export function movePeerSteps(
  region: RegionInfo,
  snap: ClusterSnapshot,
  move: { readonly fromStoreId: bigint; readonly toStoreId: bigint; readonly newPeerId: bigint },
): OperatorStep[] | undefined {
  const { fromStoreId, toStoreId, newPeerId } = move;
  const from = region.meta.peers.find((p) => p.storeId === fromStoreId);
  if (from === undefined) return undefined;
  const steps: OperatorStep[] = [
    { type: 'add-learner', storeId: toStoreId, peerId: newPeerId },
    { type: 'promote-learner', storeId: toStoreId, peerId: newPeerId },
  ];
  if (region.leader?.storeId === fromStoreId) {
    const to = pickLeaderTarget(region, snap, { fromStoreId, extra: toStoreId });
    if (to === undefined) return undefined;
    steps.push({ type: 'transfer-leader', fromStoreId, toStoreId: to });
  }
  steps.push({ type: 'remove-peer', storeId: fromStoreId, peerId: from.id });
  return steps;
}

/**
 * Steps that remove the peer on `storeId`, first moving the leader away when it is there.
 * Undefined when the store holds the leader and no voter can take it.
 */
export function removePeerSteps(
  region: RegionInfo,
  snap: ClusterSnapshot,
  remove: { readonly storeId: bigint },
): OperatorStep[] | undefined {
  const { storeId } = remove;
  const peer = region.meta.peers.find((p) => p.storeId === storeId);
  if (peer === undefined) return undefined;
  const steps: OperatorStep[] = [];
  if (region.leader?.storeId === storeId) {
    const to = pickLeaderTarget(region, snap, { fromStoreId: storeId });
    if (to === undefined) return undefined;
    steps.push({ type: 'transfer-leader', fromStoreId: storeId, toStoreId: to });
  }
  steps.push({ type: 'remove-peer', storeId, peerId: peer.id });
  return steps;
}

/** Whether the region has a leader and no down or pending peer (PD's "healthy region"). */
export function isRegionHealthy(region: RegionInfo): boolean {
  return (
    region.leader !== undefined && region.downPeers.length === 0 && region.pendingPeers.length === 0
  );
}
