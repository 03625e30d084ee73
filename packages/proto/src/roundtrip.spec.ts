// Encode → decode round trips of representative messages of every generated file, with 64-bit
// values above 2^53, bytes, repeated fields, enums, oneofs and maps.
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  coprocessor,
  debugpb,
  disk_usage,
  eraftpb,
  errorpb,
  keyspacepb,
  kvrpcpb,
  metapb,
  pdpb,
  raft_cmdpb,
  raft_serverpb,
  tikvpb,
} from './index';
import { ABOVE_2_53, U64_MAX } from './testdata/wire';

interface Codec<T> {
  encode(message: T): BinaryWriter;
  decode(input: Uint8Array): T;
}

function roundTrip<T>(codec: Codec<T>, message: T): T {
  const bytes = codec.encode(message).finish();
  const back = codec.decode(bytes);
  expect(back).toEqual(message);
  // Re-encoding the decoded message gives the same bytes (deterministic encoding).
  expect(Buffer.from(codec.encode(back).finish()).equals(Buffer.from(bytes))).toBe(true);
  return back;
}

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

const region = metapb.Region.create({
  id: ABOVE_2_53,
  startKey: bytes(0x61),
  endKey: bytes(0x7a, 0xff),
  regionEpoch: { confVer: 3n, version: U64_MAX },
  peers: [
    { id: 1n, storeId: 1n, role: metapb.PeerRole.Voter },
    { id: 2n, storeId: 2n, role: metapb.PeerRole.Learner, isWitness: true },
  ],
});

describe('round trips', () => {
  it('metapb', () => {
    roundTrip(metapb.Region, region);
    roundTrip(
      metapb.Store,
      metapb.Store.create({
        id: U64_MAX,
        address: '127.0.0.1:20160',
        state: metapb.StoreState.Offline,
        labels: [{ key: 'zone', value: 'z1' }],
        statusAddress: '127.0.0.1:20180',
        startTimestamp: -5n,
        nodeState: metapb.NodeState.Serving,
      }),
    );
  });

  it('errorpb', () => {
    roundTrip(
      errorpb.Error,
      errorpb.Error.create({
        message: 'busy',
        serverIsBusy: { reason: 'scheduler', backoffMs: ABOVE_2_53 },
        keyNotInRegion: { key: bytes(1), regionId: 2n, startKey: bytes(), endKey: bytes(9) },
        diskFull: { storeId: [1n, U64_MAX], reason: 'full' },
      }),
    );
  });

  it('kvrpcpb', () => {
    const prewrite = kvrpcpb.PrewriteRequest.create({
      context: {
        regionId: 1n,
        resolvedLocks: [ABOVE_2_53, U64_MAX],
        isolationLevel: kvrpcpb.IsolationLevel.RC,
      },
      mutations: [
        { op: kvrpcpb.Op.Put, key: bytes(1), value: bytes(2) },
        { op: kvrpcpb.Op.Del, key: bytes(3), assertion: kvrpcpb.Assertion.Exist },
      ],
      primaryLock: bytes(1),
      startVersion: ABOVE_2_53,
      lockTtl: 3000n,
      pessimisticActions: [
        kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
        kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK,
      ],
      useAsyncCommit: true,
      secondaries: [bytes(3), bytes()],
      maxCommitTs: U64_MAX,
      assertionLevel: kvrpcpb.AssertionLevel.Strict,
      forUpdateTsConstraints: [{ index: 1, expectedForUpdateTs: ABOVE_2_53 }],
    });
    roundTrip(kvrpcpb.PrewriteRequest, prewrite);

    roundTrip(
      kvrpcpb.CheckTxnStatusResponse,
      kvrpcpb.CheckTxnStatusResponse.create({
        error: {
          locked: {
            primaryLock: bytes(1),
            lockVersion: ABOVE_2_53,
            key: bytes(2),
            lockTtl: 20000n,
            lockType: kvrpcpb.Op.PessimisticLock,
            useAsyncCommit: true,
            secondaries: [bytes(5)],
          },
          conflict: {
            startTs: 1n,
            conflictTs: 2n,
            reason: kvrpcpb.WriteConflict_Reason.SelfRolledBack,
          },
        },
        action: kvrpcpb.Action.TTLExpireRollback,
        commitVersion: U64_MAX,
      }),
    );

    roundTrip(
      kvrpcpb.KeyError,
      kvrpcpb.KeyError.create({
        deadlock: {
          lockTs: ABOVE_2_53,
          lockKey: bytes(1),
          deadlockKeyHash: U64_MAX,
          waitChain: [{ txn: 1n, waitForTxn: 2n, keyHash: 3n, key: bytes(4), waitTime: 5n }],
          deadlockKey: bytes(6),
        },
      }),
    );

    const compact = kvrpcpb.CompactError.create({
      error: { $case: 'errCompactInProgress', value: {} },
    });
    expect(roundTrip(kvrpcpb.CompactError, compact).error?.$case).toBe('errCompactInProgress');

    roundTrip(
      kvrpcpb.RawBatchScanResponse,
      kvrpcpb.RawBatchScanResponse.create({
        kvs: [
          { key: bytes(1), value: bytes(2) },
          { key: bytes(3), error: { abort: 'x' } },
        ],
      }),
    );
  });

  it('coprocessor', () => {
    roundTrip(
      coprocessor.Request,
      coprocessor.Request.create({
        context: { regionId: 9n },
        tp: 103n,
        data: bytes(0x08, 0x01),
        ranges: [{ start: bytes(1), end: bytes(2) }],
        startTs: ABOVE_2_53,
        schemaVer: -1n,
        pagingSize: 256n,
      }),
    );
  });

  it('raft_serverpb (RaftMessage, snapshot, local states)', () => {
    const msg = raft_serverpb.RaftMessage.create({
      regionId: ABOVE_2_53,
      fromPeer: { id: 1n, storeId: 1n },
      toPeer: { id: 2n, storeId: 2n },
      message: {
        msgType: eraftpb.MessageType.MsgAppend,
        to: 2n,
        from: 1n,
        term: U64_MAX,
        entries: [
          { entryType: eraftpb.EntryType.EntryNormal, term: 1n, index: 1n, data: bytes(1, 2) },
        ],
      },
      regionEpoch: { confVer: 1n, version: 1n },
      startKey: bytes(),
      endKey: bytes(0xff),
      extraMsg: { type: raft_serverpb.ExtraMessageType.MsgHibernateRequest },
      diskUsage: disk_usage.DiskUsage.AlmostFull,
    });
    roundTrip(raft_serverpb.RaftMessage, msg);
    roundTrip(tikvpb.BatchRaftMessage, tikvpb.BatchRaftMessage.create({ msgs: [msg, msg] }));
    roundTrip(raft_serverpb.SnapshotChunk, raft_serverpb.SnapshotChunk.create({ message: msg }));
    roundTrip(
      raft_serverpb.SnapshotChunk,
      raft_serverpb.SnapshotChunk.create({ data: new Uint8Array(1024).fill(7) }),
    );
    roundTrip(
      raft_serverpb.RaftSnapshotData,
      raft_serverpb.RaftSnapshotData.create({
        region,
        fileSize: ABOVE_2_53,
        version: 2n,
        meta: { cfFiles: [{ cf: 'default', size: 10n, checksum: 0xffffffff }], forBalance: true },
      }),
    );
    roundTrip(raft_serverpb.Done, raft_serverpb.Done.create());
    roundTrip(
      raft_serverpb.RegionLocalState,
      raft_serverpb.RegionLocalState.create({
        state: raft_serverpb.PeerState.Merging,
        region,
        mergeState: { minIndex: 5n, target: region, commit: ABOVE_2_53 },
      }),
    );
    roundTrip(
      raft_serverpb.StoreIdent,
      raft_serverpb.StoreIdent.create({
        clusterId: U64_MAX,
        storeId: 1n,
        apiVersion: kvrpcpb.APIVersion.V1TTL,
      }),
    );
  });

  it('raft_cmdpb (data and admin requests)', () => {
    roundTrip(
      raft_cmdpb.RaftCmdRequest,
      raft_cmdpb.RaftCmdRequest.create({
        header: {
          regionId: 1n,
          regionEpoch: { confVer: 1n, version: 2n },
          term: ABOVE_2_53,
          uuid: bytes(1, 2, 3),
        },
        requests: [
          { cmdType: raft_cmdpb.CmdType.Put, put: { cf: 'lock', key: bytes(1), value: bytes(2) } },
          { cmdType: raft_cmdpb.CmdType.Delete, delete: { cf: 'write', key: bytes(3) } },
          {
            cmdType: raft_cmdpb.CmdType.DeleteRange,
            deleteRange: { startKey: bytes(1), endKey: bytes(9) },
          },
        ],
      }),
    );
    const admins: raft_cmdpb.AdminRequest[] = [
      raft_cmdpb.AdminRequest.create({
        cmdType: raft_cmdpb.AdminCmdType.ChangePeer,
        changePeer: {
          changeType: eraftpb.ConfChangeType.AddLearnerNode,
          peer: { id: 5n, storeId: 3n },
        },
      }),
      raft_cmdpb.AdminRequest.create({
        cmdType: raft_cmdpb.AdminCmdType.ChangePeerV2,
        changePeerV2: {
          changes: [
            { changeType: eraftpb.ConfChangeType.AddNode, peer: { id: 6n, storeId: 4n } },
            { changeType: eraftpb.ConfChangeType.RemoveNode, peer: { id: 2n, storeId: 2n } },
          ],
        },
      }),
      raft_cmdpb.AdminRequest.create({
        cmdType: raft_cmdpb.AdminCmdType.BatchSplit,
        splits: {
          requests: [
            { splitKey: bytes(0x6d), newRegionId: ABOVE_2_53, newPeerIds: [7n, 8n, U64_MAX] },
          ],
          rightDerive: true,
        },
      }),
      raft_cmdpb.AdminRequest.create({
        cmdType: raft_cmdpb.AdminCmdType.CompactLog,
        compactLog: { compactIndex: 100n, compactTerm: 5n },
      }),
      raft_cmdpb.AdminRequest.create({
        cmdType: raft_cmdpb.AdminCmdType.TransferLeader,
        transferLeader: { peer: { id: 2n, storeId: 2n } },
      }),
    ];
    for (const admin of admins) roundTrip(raft_cmdpb.AdminRequest, admin);
    roundTrip(
      raft_cmdpb.RaftCmdResponse,
      raft_cmdpb.RaftCmdResponse.create({
        header: { error: { staleCommand: {} }, currentTerm: 3n },
        adminResponse: {
          cmdType: raft_cmdpb.AdminCmdType.BatchSplit,
          splits: { regions: [region, region] },
        },
      }),
    );
  });

  it('tikvpb (BatchCommands oneofs)', () => {
    const resp = tikvpb.BatchCommandsResponse.create({
      responses: [
        { cmd: { $case: 'RawGet', value: { value: bytes(1), notFound: false } } },
        { cmd: { $case: 'Prewrite', value: { onePcCommitTs: ABOVE_2_53, minCommitTs: U64_MAX } } },
        { cmd: { $case: 'Empty', value: { testId: 9n } } },
      ],
      requestIds: [1n, 2n, U64_MAX],
      transportLayerLoad: 3n,
    });
    const back = roundTrip(tikvpb.BatchCommandsResponse, resp);
    const first = back.responses[0]?.cmd;
    expect(first?.$case === 'RawGet' ? first.value.value : undefined).toEqual(bytes(1));
  });

  it('pdpb (TSO, regions, heartbeats, maps, GC)', () => {
    roundTrip(
      pdpb.GetMembersResponse,
      pdpb.GetMembersResponse.create({
        header: { clusterId: ABOVE_2_53 },
        members: [
          { name: 'pd1', memberId: U64_MAX, clientUrls: ['http://127.0.0.1:2379'], peerUrls: [] },
        ],
        leader: { name: 'pd1', memberId: U64_MAX, clientUrls: ['http://127.0.0.1:2379'] },
        tsoAllocatorLeaders: { global: { name: 'pd1', memberId: 1n } },
      }),
    );
    roundTrip(
      pdpb.GetRegionResponse,
      pdpb.GetRegionResponse.create({
        header: { clusterId: 1n },
        region,
        leader: { id: 1n, storeId: 1n },
        downPeers: [{ peer: { id: 2n, storeId: 2n }, downSeconds: 30n }],
        pendingPeers: [{ id: 2n, storeId: 2n }],
      }),
    );
    roundTrip(
      pdpb.RegionHeartbeatRequest,
      pdpb.RegionHeartbeatRequest.create({
        header: { clusterId: 1n },
        region,
        leader: { id: 1n, storeId: 1n },
        bytesWritten: U64_MAX,
        approximateSize: ABOVE_2_53,
        interval: { startTimestamp: 1n, endTimestamp: 61n },
        term: 7n,
      }),
    );
    roundTrip(
      pdpb.RegionHeartbeatResponse,
      pdpb.RegionHeartbeatResponse.create({
        regionId: 2n,
        changePeerV2: {
          changes: [{ peer: { id: 3n, storeId: 3n }, changeType: eraftpb.ConfChangeType.AddNode }],
        },
        splitRegion: { policy: pdpb.CheckPolicy.USEKEY, keys: [bytes(1)] },
      }),
    );
    roundTrip(
      pdpb.StoreHeartbeatRequest,
      pdpb.StoreHeartbeatRequest.create({
        stats: {
          storeId: 1n,
          capacity: U64_MAX,
          available: ABOVE_2_53,
          regionCount: 12,
          networkSlowScores: new Map([
            [2n, 1n],
            [3n, U64_MAX],
          ]),
        },
      }),
    );
    roundTrip(
      pdpb.AskBatchSplitResponse,
      pdpb.AskBatchSplitResponse.create({
        ids: [{ newRegionId: ABOVE_2_53, newPeerIds: [1n, 2n, 3n] }],
      }),
    );
    roundTrip(
      pdpb.UpdateServiceGCSafePointRequest,
      pdpb.UpdateServiceGCSafePointRequest.create({
        serviceId: bytes(0x62, 0x72),
        TTL: -1n,
        safePoint: U64_MAX,
      }),
    );
    roundTrip(
      pdpb.ScanRegionsResponse,
      pdpb.ScanRegionsResponse.create({ regions: [{ region, leader: { id: 1n, storeId: 1n } }] }),
    );
  });

  it('keyspacepb', () => {
    roundTrip(
      keyspacepb.LoadKeyspaceResponse,
      keyspacepb.LoadKeyspaceResponse.create({
        header: { clusterId: 1n },
        keyspace: {
          id: 0,
          name: 'DEFAULT',
          state: keyspacepb.KeyspaceState.ENABLED,
          createdAt: 1700000000n,
          config: { gc_management_type: 'keyspace_level_gc' },
        },
      }),
    );
  });

  it('debugpb', () => {
    roundTrip(
      debugpb.GetRequest,
      debugpb.GetRequest.create({ db: debugpb.DB.KV, cf: 'write', key: bytes(0x7a) }),
    );
    roundTrip(
      debugpb.RegionInfoResponse,
      debugpb.RegionInfoResponse.create({
        raftLocalState: {
          hardState: { term: 2n, vote: 1n, commit: ABOVE_2_53 },
          lastIndex: U64_MAX,
        },
        raftApplyState: { appliedIndex: 5n, truncatedState: { index: 5n, term: 1n } },
        regionLocalState: { state: raft_serverpb.PeerState.Normal, region },
      }),
    );
    roundTrip(
      debugpb.ScanMvccResponse,
      debugpb.ScanMvccResponse.create({
        key: bytes(1),
        info: {
          lock: { type: kvrpcpb.Op.Lock, startTs: 5n, primary: bytes(1) },
          writes: [
            { type: kvrpcpb.Op.Put, startTs: 5n, commitTs: ABOVE_2_53, shortValue: bytes(2) },
          ],
          values: [{ startTs: 5n, value: bytes(3) }],
        },
      }),
    );
    roundTrip(
      debugpb.GetRegionPropertiesResponse,
      debugpb.GetRegionPropertiesResponse.create({
        props: [{ name: 'mvcc.num_rows', value: '10' }],
      }),
    );
  });
});
