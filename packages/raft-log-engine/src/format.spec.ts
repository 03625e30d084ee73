import { CodecError } from '@tikv-ts/codec';
import { type RaftEntry, RaftEngineCorruptionError } from '@tikv-ts/engine-traits';
import { eraftpb } from '@tikv-ts/proto';
import { type PendingOp, decodePayload, encodeFileHeader, encodeRecord, RECORD_HEADER_BYTES } from './format';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function entry(index: bigint, term: bigint, data: number[]): RaftEntry {
  return eraftpb.Entry.fromPartial({ index, term, data: Uint8Array.from(data) }) as RaftEntry;
}

/** Ops covering every op kind and varint widths from 1 to 10 bytes. */
function goldenOps(): PendingOp[] {
  const entries = [entry(5n, 2n, [1, 2, 3]), entry(6n, 300n, [])];
  return [
    { kind: 'append', regionId: 1n, firstIndex: 5n, entries, encoded: entries.map((e) => eraftpb.Entry.encode(e as eraftpb.Entry).finish()) },
    { kind: 'cut', regionId: 127n, fromIndex: 128n },
    { kind: 'compact', regionId: 2n ** 49n, index: 2n ** 53n + 1n },
    { kind: 'putState', regionId: 2n ** 63n, state: { hardState: { term: 7n, vote: 3n, commit: 2n ** 64n - 1n }, lastIndex: 16384n } },
    { kind: 'putState', regionId: 9n, state: { hardState: undefined, lastIndex: 0n } },
    { kind: 'removeState', regionId: 2n ** 35n },
  ];
}

describe('on-disk format (golden bytes)', () => {
  it('file header', () => {
    expect(hex(encodeFileHeader())).toBe('544b5453524c4f4701000000a0132be9');
  });

  it('record with every op kind', () => {
    const { bytes } = encodeRecord(goldenOps(), 0);
    expect(hex(bytes)).toBe(
      '54474c52520000008bf59321010105020209100218052203010203ac020510ac021806027f800103808080808080800181808080808080100480808080808080808001010703ffffffffffffffffff018080010409000005808080808001',
    );
  });

  it('decodes the golden payload back', () => {
    const { bytes, ops } = encodeRecord(goldenOps(), 0);
    const decoded = decodePayload(bytes.subarray(RECORD_HEADER_BYTES));
    expect(decoded.map((o) => (o.kind === 'append' ? { ...o, items: o.items.map((i) => ({ ...i, entry: undefined })) } : o))).toEqual(
      ops.map((o) => (o.kind === 'append' ? { ...o, items: o.items.map((i) => ({ ...i, entry: undefined })) } : o)),
    );
  });
});

describe('payload decoding errors', () => {
  const payload = (): Uint8Array => encodeRecord(goldenOps(), 0).bytes.subarray(RECORD_HEADER_BYTES);

  it('every truncation raises a CodecError (never a garbage op list)', () => {
    const full = payload();
    // Cuts that end exactly on an op boundary decode to fewer ops; every other cut must throw.
    const boundaries = new Set<number>([0]);
    let end = 0;
    for (const op of goldenOps()) {
      end += encodeRecord([op], 0).bytes.length - RECORD_HEADER_BYTES;
      boundaries.add(end);
    }
    for (let cut = 0; cut < full.length; cut++) {
      const part = full.subarray(0, cut);
      if (boundaries.has(cut)) {
        expect(() => decodePayload(part)).not.toThrow();
      } else {
        expect(() => decodePayload(part)).toThrow(CodecError);
      }
    }
  });

  it('rejects an unknown op tag, an over-long varint and a length beyond 2^53', () => {
    expect(() => decodePayload(Uint8Array.of(9, 1))).toThrow(RaftEngineCorruptionError);
    const tooLong = new Uint8Array(11).fill(0xff);
    expect(() => decodePayload(tooLong)).toThrow(expect.objectContaining({ code: 'KV:Codec:VarintOverflow' }) as Error);
    // append, region 1, first index 1, count = 2^53 (not a safe integer)
    const hugeCount = Uint8Array.of(1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    expect(() => decodePayload(hugeCount)).toThrow(expect.objectContaining({ code: 'KV:Codec:VarintOverflow' }) as Error);
    // append with an entry length past the end of the payload
    expect(() => decodePayload(Uint8Array.of(1, 1, 1, 1, 1, 5, 0))).toThrow(
      expect.objectContaining({ code: 'KV:Codec:Truncated' }) as Error,
    );
  });
});
