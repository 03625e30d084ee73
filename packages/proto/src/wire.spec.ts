// Byte-exact encodings written by hand from the protobuf wire format (tag = field << 3 | wire
// type; 0 = varint, 2 = length-delimited). They pin field numbers and wire types to kvproto's:
// a renumbered or retyped field changes the bytes.
import { errorpb, kvrpcpb, pdpb, raft_cmdpb, raft_serverpb, tikvpb } from './index';
import { ABOVE_2_53, fromHex, toHex } from './testdata/wire';

/** 2^53 + 1 as a varint. */
const V_ABOVE_2_53 = '8180808080808010';

function expectWire(actual: Uint8Array, expectedHex: string): void {
  expect(toHex(actual)).toBe(toHex(fromHex(expectedHex)));
}

describe('wire encoding', () => {
  it('kvrpcpb.RawPutRequest with a Context', () => {
    const req = kvrpcpb.RawPutRequest.create({
      context: {
        regionId: 2n,
        regionEpoch: { confVer: 1n, version: 3n },
        peer: { id: 4n, storeId: 1n },
        apiVersion: kvrpcpb.APIVersion.V2,
      },
      key: new Uint8Array([0x6b]),
      value: new Uint8Array([0x76]),
      cf: 'default',
      ttl: ABOVE_2_53,
      forCas: true,
    });
    const hex =
      '0a11' + // 1: Context, 17 bytes
      '0802' + //   1: region_id 2
      '1204 0801 1003' + //   2: RegionEpoch{conf_ver 1, version 3}
      '1a04 0804 1001' + //   3: Peer{id 4, store_id 1}
      'a80102' + //   21: api_version V2 (tag 168 = two-byte varint)
      '12016b' + // 2: key "k"
      '1a0176' + // 3: value "v"
      '2207 64656661756c74' + // 4: cf "default"
      '28' +
      V_ABOVE_2_53 + // 5: ttl
      '3001'; // 6: for_cas
    expectWire(kvrpcpb.RawPutRequest.encode(req).finish(), hex);
    expect(kvrpcpb.RawPutRequest.decode(fromHex(hex))).toEqual(req);
  });

  it('kvrpcpb.RawGetResponse with a region error', () => {
    const resp = kvrpcpb.RawGetResponse.create({
      regionError: { message: 'x', notLeader: { regionId: 1n, leader: { id: 2n, storeId: 3n } } },
      notFound: true,
    });
    // 1: errorpb.Error{1: "x", 2: NotLeader{1: 1, 2: Peer{1: 2, 2: 3}}} | 4: not_found
    const hex = '0a0d 0a0178 1208 0801 1204 0802 1003' + '2001';
    expectWire(kvrpcpb.RawGetResponse.encode(resp).finish(), hex);
    expect(kvrpcpb.RawGetResponse.decode(fromHex(hex))).toEqual(resp);
  });

  it('kvrpcpb.Mutation with an enum op and assertion', () => {
    const m = kvrpcpb.Mutation.create({
      op: kvrpcpb.Op.Insert,
      key: new Uint8Array([1]),
      value: new Uint8Array([2]),
      assertion: kvrpcpb.Assertion.NotExist,
    });
    expectWire(kvrpcpb.Mutation.encode(m).finish(), '0804 120101 1a0102 2002');
  });

  it('pdpb.TsoRequest and TsoResponse', () => {
    const req = pdpb.TsoRequest.create({ header: { clusterId: ABOVE_2_53 }, count: 10 });
    const reqHex = '0a09 08' + V_ABOVE_2_53 + '100a';
    expectWire(pdpb.TsoRequest.encode(req).finish(), reqHex);

    // 1: ResponseHeader{cluster_id 1} | 2: count 10 | 3: Timestamp{physical 1700000000000, logical 5}
    const respHex = '0a02 0801 100a 1a09 08 80d095ffbc31 1005';
    const resp = pdpb.TsoResponse.decode(fromHex(respHex));
    expect(resp.header?.clusterId).toBe(1n);
    expect(resp.count).toBe(10);
    expect(resp.timestamp?.physical).toBe(1700000000000n);
    expect(resp.timestamp?.logical).toBe(5n);
    expectWire(pdpb.TsoResponse.encode(resp).finish(), respHex);
  });

  it('tikvpb.BatchCommandsRequest with one oneof request', () => {
    const batch = tikvpb.BatchCommandsRequest.create({
      requests: [{ cmd: { $case: 'RawGet', value: { key: new Uint8Array([0x61]) } } }],
      requestIds: [ABOVE_2_53],
    });
    // 1: Request{13 (RawGet): RawGetRequest{2: "a"}} | 2: packed request_ids
    const hex = '0a05 6a03 120161' + '1208' + V_ABOVE_2_53;
    expectWire(tikvpb.BatchCommandsRequest.encode(batch).finish(), hex);
    expect(tikvpb.BatchCommandsRequest.decode(fromHex(hex))).toEqual(batch);
  });

  it('tikvpb.BatchCommandsRequest carrying the Empty probe (field 255)', () => {
    const batch = tikvpb.BatchCommandsRequest.create({
      requests: [{ cmd: { $case: 'Empty', value: { testId: 1n } } }],
      requestIds: [7n],
    });
    // tag of field 255, wire type 2 = 2042 = varint fa 0f
    const hex = '0a05 fa0f 02 0801' + '1201 07';
    expectWire(tikvpb.BatchCommandsRequest.encode(batch).finish(), hex);
    const back = tikvpb.BatchCommandsRequest.decode(fromHex(hex));
    expect(back.requests[0]?.cmd?.$case).toBe('Empty');
  });

  it('raft_serverpb.RaftLocalState and RaftApplyState', () => {
    const local = raft_serverpb.RaftLocalState.create({
      hardState: { term: 5n, vote: 2n, commit: ABOVE_2_53 },
      lastIndex: 10n,
    });
    expectWire(
      raft_serverpb.RaftLocalState.encode(local).finish(),
      '0a0d 0805 1002 18' + V_ABOVE_2_53 + '100a',
    );
    const apply = raft_serverpb.RaftApplyState.create({
      appliedIndex: 9n,
      truncatedState: { index: 5n, term: 2n },
      commitIndex: 9n,
      commitTerm: 2n,
    });
    expectWire(
      raft_serverpb.RaftApplyState.encode(apply).finish(),
      '0809 1204 0805 1002 2009 2802',
    );
  });

  it('raft_cmdpb.RaftCmdRequest with a CompactLog admin request', () => {
    const cmd = raft_cmdpb.RaftCmdRequest.create({
      header: { regionId: 3n, peer: { id: 4n, storeId: 1n } },
      adminRequest: {
        cmdType: raft_cmdpb.AdminCmdType.CompactLog,
        compactLog: { compactIndex: 100n, compactTerm: 6n },
      },
    });
    // 1: header{1: 3, 2: Peer{1: 4, 2: 1}} | 3: AdminRequest{1: 3, 4: CompactLogRequest{1: 100, 2: 6}}
    const hex = '0a08 0803 1204 0804 1001' + '1a08 0803 2204 0864 1006';
    expectWire(raft_cmdpb.RaftCmdRequest.encode(cmd).finish(), hex);
    expect(raft_cmdpb.RaftCmdRequest.decode(fromHex(hex))).toEqual(cmd);
  });

  it('errorpb.Error with epoch_not_match carrying regions', () => {
    const err = errorpb.Error.create({
      epochNotMatch: { currentRegions: [{ id: 1n, startKey: new Uint8Array([0x61]) }] },
    });
    // 5: EpochNotMatch{1: Region{1: 1, 2: "a"}}
    expectWire(errorpb.Error.encode(err).finish(), '2a07 0a05 0801 120161');
  });

  it('skips unknown fields when decoding (forward compatibility)', () => {
    // RawGetRequest{2: "a"} followed by an unknown field 99 (varint 1) and an unknown field 100 (bytes).
    const decoded = kvrpcpb.RawGetRequest.decode(fromHex('120161 98 06 01 a2 06 02 ffff'));
    expect(decoded.key).toEqual(new Uint8Array([0x61]));
  });
});
