import { compareBytes } from '@tikv-ts/codec';
import { eraftpb, metapb, pdpb } from '@tikv-ts/proto';
import type { RegionInfo } from '../region-tree';

/**
 * One step of an {@link Operator}, as PD's operator steps (tikv/pd `operator/step.go`): each is
 * sent to the region leader in a region heartbeat response and is finished when a later region
 * heartbeat shows its effect.
 *
 * - `transfer-leader`: the leader moves from `fromStoreId` to the peer on `toStoreId`; finished
 *   when the leader is on `toStoreId`.
 * - `add-peer`: a voter `peerId` is added on `storeId`; finished when that voter is present and
 *   not pending.
 * - `add-learner`: a learner `peerId` is added on `storeId`; finished when that learner is
 *   present and not pending.
 * - `promote-learner`: the learner `peerId` becomes a voter; finished when it is a voter.
 * - `remove-peer`: the peer `peerId` on `storeId` is removed; finished when the store holds no
 *   peer of the region.
 * - `split-region`: the region is split (by `policy`, or at `keys`); finished when the region's
 *   range differs from `[startKey, endKey)`, the range the step was created for.
 */
export type OperatorStep =
  | { readonly type: 'transfer-leader'; readonly fromStoreId: bigint; readonly toStoreId: bigint }
  | { readonly type: 'add-peer'; readonly storeId: bigint; readonly peerId: bigint }
  | { readonly type: 'add-learner'; readonly storeId: bigint; readonly peerId: bigint }
  | { readonly type: 'promote-learner'; readonly storeId: bigint; readonly peerId: bigint }
  | { readonly type: 'remove-peer'; readonly storeId: bigint; readonly peerId: bigint }
  | {
      readonly type: 'split-region';
      readonly policy: pdpb.CheckPolicy;
      readonly keys: readonly Uint8Array[];
      readonly startKey: Uint8Array;
      readonly endKey: Uint8Array;
    };

function peerOnStore(region: RegionInfo, storeId: bigint): metapb.Peer | undefined {
  return region.meta.peers.find((p) => p.storeId === storeId);
}

function isPending(region: RegionInfo, peerId: bigint): boolean {
  return region.pendingPeers.some((p) => p.id === peerId);
}

/** Whether the region, as a heartbeat shows it, reflects the effect of `step`. */
export function isStepFinished(step: OperatorStep, region: RegionInfo): boolean {
  switch (step.type) {
    case 'transfer-leader':
      return region.leader?.storeId === step.toStoreId;
    case 'add-peer': {
      const p = peerOnStore(region, step.storeId);
      return (
        p !== undefined &&
        p.id === step.peerId &&
        p.role === metapb.PeerRole.Voter &&
        !isPending(region, p.id)
      );
    }
    case 'add-learner': {
      const p = peerOnStore(region, step.storeId);
      return (
        p !== undefined &&
        p.id === step.peerId &&
        p.role === metapb.PeerRole.Learner &&
        !isPending(region, p.id)
      );
    }
    case 'promote-learner': {
      const p = peerOnStore(region, step.storeId);
      return p !== undefined && p.id === step.peerId && p.role === metapb.PeerRole.Voter;
    }
    case 'remove-peer':
      return peerOnStore(region, step.storeId) === undefined;
    case 'split-region':
      return (
        compareBytes(region.meta.startKey, step.startKey) !== 0 ||
        compareBytes(region.meta.endKey, step.endKey) !== 0
      );
    default: {
      const never: never = step;
      return never;
    }
  }
}

/**
 * Why `step` (not finished yet) cannot make progress on `region`, or undefined when it can (PD's
 * `CheckInProgress`). An operator whose current step cannot progress is canceled. With
 * `isStoreUsable`, a step that needs its target store (a new peer, a promotion, a leader
 * transfer) is also blocked when that store is not usable (down, offline, removed).
 */
export function stepBlockedReason(
  step: OperatorStep,
  region: RegionInfo,
  options: { readonly isStoreUsable?: ((storeId: bigint) => boolean) | undefined } = {},
): string | undefined {
  const { isStoreUsable } = options;
  if (isStoreUsable !== undefined) {
    const target =
      step.type === 'transfer-leader'
        ? step.toStoreId
        : step.type === 'add-peer' || step.type === 'add-learner' || step.type === 'promote-learner'
          ? step.storeId
          : undefined;
    if (target !== undefined && !isStoreUsable(target))
      return `target store ${target} is down, offline or removed`;
  }
  switch (step.type) {
    case 'transfer-leader': {
      const p = peerOnStore(region, step.toStoreId);
      if (p === undefined)
        return `no peer on target store ${step.toStoreId} to transfer the leader to`;
      if (p.role !== metapb.PeerRole.Voter)
        return `peer ${p.id} on store ${step.toStoreId} is not a voter`;
      return undefined;
    }
    case 'add-peer':
    case 'add-learner': {
      const p = peerOnStore(region, step.storeId);
      if (p !== undefined && p.id !== step.peerId)
        return `store ${step.storeId} already holds peer ${p.id} of region ${region.meta.id}`;
      return undefined;
    }
    case 'promote-learner': {
      const p = peerOnStore(region, step.storeId);
      if (p === undefined || p.id !== step.peerId)
        return `learner ${step.peerId} on store ${step.storeId} is gone`;
      return undefined;
    }
    case 'remove-peer':
      if (region.leader?.storeId === step.storeId)
        return `cannot remove the leader peer on store ${step.storeId}`;
      return undefined;
    case 'split-region':
      return undefined;
    default: {
      const never: never = step;
      return never;
    }
  }
}

/** Whether finishing `step` increments the region's conf version (every conf change does). */
export function stepChangesConfVer(step: OperatorStep): boolean {
  return (
    step.type === 'add-peer' ||
    step.type === 'add-learner' ||
    step.type === 'promote-learner' ||
    step.type === 'remove-peer'
  );
}

/**
 * Whether `region` shows the conf change of `step` applied (1) or not (0). Differs from
 * {@link isStepFinished} for a new peer that is still pending: its conf change is done (the conf
 * version moved) but the step waits for the snapshot.
 */
export function stepConfVerApplied(step: OperatorStep, region: RegionInfo): bigint {
  switch (step.type) {
    case 'add-peer':
    case 'add-learner':
      return peerOnStore(region, step.storeId)?.id === step.peerId ? 1n : 0n;
    case 'promote-learner': {
      const p = peerOnStore(region, step.storeId);
      return p?.id === step.peerId && p.role === metapb.PeerRole.Voter ? 1n : 0n;
    }
    case 'remove-peer':
      return peerOnStore(region, step.storeId) === undefined ? 1n : 0n;
    case 'transfer-leader':
    case 'split-region':
      return 0n;
    default: {
      const never: never = step;
      return never;
    }
  }
}

/** Whether `step` needs data to move (a snapshot or a split): such steps get the slow timeout. */
export function isSlowStep(step: OperatorStep): boolean {
  return step.type === 'add-peer' || step.type === 'add-learner' || step.type === 'split-region';
}

/**
 * The region heartbeat response carrying `step` for `region`, as PD sends it: `region_id`,
 * `region_epoch` (the region's current epoch) and `target_peer` (its leader) are set, plus one
 * of `change_peer` (AddLearnerNode for a learner, AddNode for a voter or a promotion, RemoveNode),
 * `transfer_leader` or `split_region`. The header is left unset (the stream sets it).
 */
export function stepResponse(step: OperatorStep, region: RegionInfo): pdpb.RegionHeartbeatResponse {
  const base = {
    regionId: region.meta.id,
    regionEpoch: region.meta.regionEpoch,
    targetPeer: region.leader,
  };
  switch (step.type) {
    case 'transfer-leader': {
      const peer = peerOnStore(region, step.toStoreId);
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        transferLeader: { peer, peers: peer === undefined ? [] : [peer] },
      });
    }
    case 'add-peer':
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        changePeer: {
          peer: { id: step.peerId, storeId: step.storeId, role: metapb.PeerRole.Voter },
          changeType: eraftpb.ConfChangeType.AddNode,
        },
      });
    case 'add-learner':
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        changePeer: {
          peer: { id: step.peerId, storeId: step.storeId, role: metapb.PeerRole.Learner },
          changeType: eraftpb.ConfChangeType.AddLearnerNode,
        },
      });
    case 'promote-learner':
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        changePeer: {
          peer: { id: step.peerId, storeId: step.storeId, role: metapb.PeerRole.Voter },
          changeType: eraftpb.ConfChangeType.AddNode,
        },
      });
    case 'remove-peer': {
      const peer =
        peerOnStore(region, step.storeId) ??
        metapb.Peer.fromPartial({ id: step.peerId, storeId: step.storeId });
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        changePeer: { peer, changeType: eraftpb.ConfChangeType.RemoveNode },
      });
    }
    case 'split-region':
      return pdpb.RegionHeartbeatResponse.fromPartial({
        ...base,
        splitRegion: { policy: step.policy, keys: [...step.keys] },
      });
    default: {
      const never: never = step;
      return never;
    }
  }
}

/** A short human-readable form of a step, as PD prints them (`add learner peer 7 on store 3`). */
export function describeStep(step: OperatorStep): string {
  switch (step.type) {
    case 'transfer-leader':
      return `transfer leader from store ${step.fromStoreId} to store ${step.toStoreId}`;
    case 'add-peer':
      return `add peer ${step.peerId} on store ${step.storeId}`;
    case 'add-learner':
      return `add learner peer ${step.peerId} on store ${step.storeId}`;
    case 'promote-learner':
      return `promote learner peer ${step.peerId} on store ${step.storeId} to voter`;
    case 'remove-peer':
      return `remove peer on store ${step.storeId}`;
    case 'split-region':
      return step.keys.length > 0
        ? `split region with ${step.keys.length} keys`
        : `split region with policy ${pdpb.CheckPolicy[step.policy]}`;
    default: {
      const never: never = step;
      return never;
    }
  }
}
