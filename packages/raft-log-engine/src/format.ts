/**
 * On-disk format of raft-log-engine (see README "File format"):
 *
 *   segment file  = file header (16 bytes) + record*
 *   file header   = "TKTSRLOG" (8) | version u32 LE | crc32c of the first 12 bytes u32 LE
 *   record        = magic u32 LE | payload length u32 LE | crc32c(magic|length|payload) u32 LE | payload
 *   payload       = op*   (one write batch, any number of regions)
 *   op            = tag varint | fields (varints, see encodeOps)
 *
 * Entries are stored as their protobuf encoding (eraftpb.Entry), so the stored length is the
 * entry's size for `maxSizeBytes` and a read-back decodes to exactly what was written.
 */
import type { RaftEntry, RaftLocalState } from '@tikv-ts/engine-traits';
import { ByteReader, ByteWriter, DecodeError, getU32, putU32 } from './codec';
import { crc32c } from './crc32c';

export const FILE_MAGIC = new TextEncoder().encode('TKTSRLOG');
export const FILE_VERSION = 1;
export const FILE_HEADER_BYTES = 16;
export const RECORD_MAGIC = 0x52_4c_47_54; // bytes "TGLR" little-endian
export const RECORD_HEADER_BYTES = 12;
/** Upper bound on one record's payload; larger lengths in a header mean a torn/garbage header. */
export const MAX_RECORD_PAYLOAD_BYTES = 0x7fff_ffff;

/** Segment file name for a sequence number: 16 zero-padded digits and `.raftlog`. */
export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.raftlog`;
}

/** The sequence number of a segment file name, or undefined for any other name. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{16})\.raftlog$/.exec(name);
  if (m === null) return undefined;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export function encodeFileHeader(): Uint8Array {
  const buf = new Uint8Array(FILE_HEADER_BYTES);
  buf.set(FILE_MAGIC, 0);
  putU32(buf, 8, FILE_VERSION);
  putU32(buf, 12, crc32c(buf.subarray(0, 12)));
  return buf;
}

/** True when `buf` starts with a valid file header of a version this code reads. */
export function isValidFileHeader(buf: Uint8Array): boolean {
  if (buf.length < FILE_HEADER_BYTES) return false;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (buf[i] !== FILE_MAGIC[i]) return false;
  return getU32(buf, 8) === FILE_VERSION && getU32(buf, 12) === crc32c(buf.subarray(0, 12));
}

export const OP_APPEND = 1;
export const OP_CUT = 2;
export const OP_COMPACT = 3;
export const OP_PUT_STATE = 4;
export const OP_REMOVE_STATE = 5;

/** One appended entry as the memtable needs it: where its bytes sit inside the payload. */
export interface AppendItem {
  term: bigint;
  /** Byte offset of the entry's protobuf bytes inside the record payload. */
  offset: number;
  length: number;
  /** The entry object when known (write path), undefined during recovery. */
  entry: RaftEntry | undefined;
}

/** A decoded (or about-to-be-written) change, in batch order. */
export type LogOp =
  | { kind: 'append'; regionId: bigint; firstIndex: bigint; items: AppendItem[] }
  | { kind: 'cut'; regionId: bigint; fromIndex: bigint }
  | { kind: 'compact'; regionId: bigint; index: bigint }
  | { kind: 'putState'; regionId: bigint; state: RaftLocalState }
  | { kind: 'removeState'; regionId: bigint };

/** A batch change before encoding: appends carry the entries and their protobuf bytes. */
export type PendingOp =
  | { kind: 'append'; regionId: bigint; firstIndex: bigint; entries: RaftEntry[]; encoded: Uint8Array[] }
  | { kind: 'cut'; regionId: bigint; fromIndex: bigint }
  | { kind: 'compact'; regionId: bigint; index: bigint }
  | { kind: 'putState'; regionId: bigint; state: RaftLocalState }
  | { kind: 'removeState'; regionId: bigint };

/** Encodes a whole record (header + payload) and the ops with their payload offsets. */
export function encodeRecord(ops: readonly PendingOp[], sizeHint: number): { bytes: Uint8Array; ops: LogOp[] } {
  const w = new ByteWriter(RECORD_HEADER_BYTES + sizeHint + 64);
  w.bytes(new Uint8Array(RECORD_HEADER_BYTES));
  const out: LogOp[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'append': {
        w.varint(OP_APPEND);
        w.varbig(op.regionId);
        w.varbig(op.firstIndex);
        w.varint(op.entries.length);
        const items: AppendItem[] = [];
        for (let i = 0; i < op.entries.length; i++) {
          const entry = op.entries[i] as RaftEntry;
          const bytes = op.encoded[i] as Uint8Array;
          w.varbig(entry.term);
          w.varint(bytes.length);
          items.push({ term: entry.term, offset: w.length - RECORD_HEADER_BYTES, length: bytes.length, entry });
          w.bytes(bytes);
        }
        out.push({ kind: 'append', regionId: op.regionId, firstIndex: op.firstIndex, items });
        break;
      }
      case 'cut':
        w.varint(OP_CUT);
        w.varbig(op.regionId);
        w.varbig(op.fromIndex);
        out.push(op);
        break;
      case 'compact':
        w.varint(OP_COMPACT);
        w.varbig(op.regionId);
        w.varbig(op.index);
        out.push(op);
        break;
      case 'putState':
        w.varint(OP_PUT_STATE);
        w.varbig(op.regionId);
        encodeState(w, op.state);
        out.push({ kind: 'putState', regionId: op.regionId, state: cloneState(op.state) });
        break;
      case 'removeState':
        w.varint(OP_REMOVE_STATE);
        w.varbig(op.regionId);
        out.push(op);
        break;
      default: {
        const never: never = op;
        throw new TypeError(`Unknown op ${String(never)}`);
      }
    }
  }
  const bytes = w.finish();
  const payloadLength = bytes.length - RECORD_HEADER_BYTES;
  putU32(bytes, 0, RECORD_MAGIC);
  putU32(bytes, 4, payloadLength);
  putU32(bytes, 8, crc32c(bytes.subarray(RECORD_HEADER_BYTES), crc32c(bytes.subarray(0, 8))));
  return { bytes, ops: out };
}

/** Result of checking the record header at the start of `buf`. */
export type RecordCheck =
  | { ok: true; payloadLength: number }
  | { ok: false; reason: string };

/** Validates a record header; `available` is how many bytes the file holds from the header on. */
export function checkRecordHeader(buf: Uint8Array, available: number): RecordCheck {
  if (available < RECORD_HEADER_BYTES) return { ok: false, reason: `only ${available} bytes left for a record header` };
  if (getU32(buf, 0) !== RECORD_MAGIC) return { ok: false, reason: 'bad record magic' };
  const payloadLength = getU32(buf, 4);
  if (payloadLength > available - RECORD_HEADER_BYTES) {
    return { ok: false, reason: `record length ${payloadLength} runs past the end of the file` };
  }
  return { ok: true, payloadLength };
}

/** True when the crc of a record (header at `buf[0..12)`, payload after it) matches. */
export function checkRecordCrc(record: Uint8Array): boolean {
  const payload = record.subarray(RECORD_HEADER_BYTES);
  return getU32(record, 8) === crc32c(payload, crc32c(record.subarray(0, 8)));
}

/** Decodes the ops of a payload. @throws DecodeError on malformed input */
export function decodePayload(payload: Uint8Array): LogOp[] {
  const r = new ByteReader(payload);
  const ops: LogOp[] = [];
  while (!r.isAtEnd) {
    const tag = r.varint();
    switch (tag) {
      case OP_APPEND: {
        const regionId = r.varbig();
        const firstIndex = r.varbig();
        const count = r.varint();
        const items: AppendItem[] = [];
        for (let i = 0; i < count; i++) {
          const term = r.varbig();
          const length = r.varint();
          const offset = r.position;
          r.bytes(length);
          items.push({ term, offset, length, entry: undefined });
        }
        ops.push({ kind: 'append', regionId, firstIndex, items });
        break;
      }
      case OP_CUT:
        ops.push({ kind: 'cut', regionId: r.varbig(), fromIndex: r.varbig() });
        break;
      case OP_COMPACT:
        ops.push({ kind: 'compact', regionId: r.varbig(), index: r.varbig() });
        break;
      case OP_PUT_STATE: {
        const regionId = r.varbig();
        ops.push({ kind: 'putState', regionId, state: decodeState(r) });
        break;
      }
      case OP_REMOVE_STATE:
        ops.push({ kind: 'removeState', regionId: r.varbig() });
        break;
      default:
        throw new DecodeError(`Unknown op tag ${tag}`);
    }
  }
  return ops;
}

function encodeState(w: ByteWriter, state: RaftLocalState): void {
  const hs = state.hardState;
  w.varint(hs === undefined ? 0 : 1);
  if (hs !== undefined) {
    w.varbig(hs.term);
    w.varbig(hs.vote);
    w.varbig(hs.commit);
  }
  w.varbig(state.lastIndex);
}

function decodeState(r: ByteReader): RaftLocalState {
  const flags = r.varint();
  const hardState = flags & 1 ? { term: r.varbig(), vote: r.varbig(), commit: r.varbig() } : undefined;
  return { hardState, lastIndex: r.varbig() };
}

/** A deep copy, so the engine never shares a state object with its caller. */
export function cloneState(state: RaftLocalState): RaftLocalState {
  const hs = state.hardState;
  return {
    hardState: hs === undefined ? undefined : { term: hs.term, vote: hs.vote, commit: hs.commit },
    lastIndex: state.lastIndex,
  };
}

/** Approximate encoded size of a state op, for `persistSizeBytes`. */
export const STATE_OP_BYTES = 40;

export { DecodeError };
