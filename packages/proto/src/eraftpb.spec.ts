import { eraftpb } from './index';
import { ABOVE_2_53, U64_MAX, fromHex, toHex } from './testdata/wire';

describe('eraftpb', () => {
  it('encodes Entry byte-exactly (field numbers and wire types)', () => {
    const entry = eraftpb.Entry.create({
      entryType: eraftpb.EntryType.EntryConfChange,
      term: 5n,
      index: ABOVE_2_53,
      data: new Uint8Array([0x61, 0x62]),
      context: new Uint8Array([0x01]),
    });
    // 1:varint 1 | 2:varint 5 | 3:varint 2^53+1 | 4:len "ab" | 6:len 01 (sync_log=false omitted)
    const expected = '0801 1005 18 8180808080808010 2202 6162 3201 01';
    expect(toHex(eraftpb.Entry.encode(entry).finish())).toBe(toHex(fromHex(expected)));
    expect(eraftpb.Entry.decode(fromHex(expected))).toEqual(entry);
  });

  it('encodes Message with a snapshot and negative priority byte-exactly', () => {
    const msg = eraftpb.Message.create({
      msgType: eraftpb.MessageType.MsgSnapshot,
      to: 2n,
      from: 1n,
      snapshot: {
        data: new Uint8Array([0xff]),
        metadata: { index: 3n, term: 1n, confState: { voters: [1n, 2n] } },
      },
      reject: true,
      priority: -1n,
    });
    const expected =
      '0807 1002 1801' +
      // 9: Snapshot{1: ff, 2: Metadata{1: ConfState{1: packed [1,2]}, 2: 3, 3: 1}}
      '4a0f 0a01ff 120a 0a04 0a020102 1003 1801' +
      '5001' + // 10: reject
      '78ffffffffffffffffff01'; // 15: int64 -1 (ten-byte varint)
    expect(toHex(eraftpb.Message.encode(msg).finish())).toBe(toHex(fromHex(expected)));
    expect(eraftpb.Message.decode(fromHex(expected))).toEqual(msg);
  });

  it('round-trips every message type with values above 2^53', () => {
    const hs = eraftpb.HardState.create({ term: U64_MAX, vote: ABOVE_2_53, commit: 7n });
    expect(eraftpb.HardState.decode(eraftpb.HardState.encode(hs).finish())).toEqual(hs);

    const cs = eraftpb.ConfState.create({
      voters: [1n, U64_MAX],
      learners: [3n],
      votersOutgoing: [1n],
      learnersNext: [ABOVE_2_53],
      autoLeave: true,
    });
    expect(eraftpb.ConfState.decode(eraftpb.ConfState.encode(cs).finish())).toEqual(cs);

    const cc = eraftpb.ConfChange.create({
      id: ABOVE_2_53,
      changeType: eraftpb.ConfChangeType.AddLearnerNode,
      nodeId: 4n,
      context: new Uint8Array([1, 2, 3]),
    });
    expect(eraftpb.ConfChange.decode(eraftpb.ConfChange.encode(cc).finish())).toEqual(cc);

    const v2 = eraftpb.ConfChangeV2.create({
      transition: eraftpb.ConfChangeTransition.Explicit,
      changes: [
        { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 1n },
        { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: U64_MAX },
      ],
      context: new Uint8Array([9]),
    });
    expect(eraftpb.ConfChangeV2.decode(eraftpb.ConfChangeV2.encode(v2).finish())).toEqual(v2);

    const msg = eraftpb.Message.create({
      msgType: eraftpb.MessageType.MsgAppend,
      to: U64_MAX,
      from: ABOVE_2_53,
      term: 3n,
      logTerm: 2n,
      index: 10n,
      entries: [
        { term: 3n, index: 11n, data: new Uint8Array([1]) },
        { term: 3n, index: 12n },
      ],
      commit: 9n,
      requestSnapshot: 4n,
      rejectHint: 8n,
      context: new Uint8Array([7]),
      deprecatedPriority: 5n,
      priority: 5n,
    });
    const back = eraftpb.Message.decode(eraftpb.Message.encode(msg).finish());
    expect(back).toEqual(msg);
    expect(back.entries[1]?.data).toBeInstanceOf(Uint8Array);
  });

  it('exposes kvproto enum values', () => {
    expect(eraftpb.MessageType.MsgHup).toBe(0);
    expect(eraftpb.MessageType.MsgReadIndexResp).toBe(16);
    expect(eraftpb.MessageType.MsgRequestPreVoteResponse).toBe(18);
    expect(eraftpb.EntryType.EntryConfChangeV2).toBe(2);
    expect(eraftpb.ConfChangeTransition.Implicit).toBe(1);
  });
});
