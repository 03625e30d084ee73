/**
 * On-disk format of raft-log-engine (see README "File format"):
 *
 *   segment file  = file header (16 bytes) + record*
 *   file header   = "TKTSRLOG" (8) | version u32 LE | crc32c of the first 12 bytes u32 LE
 *   record        = magic u32 LE | payload length u32 LE | crc32c(magic|length|payload) u32 LE | payload
 *   payload       = op*   (one write batch, any number of regions)
 *   op            = tag varint | fields (varints, see encodeOps)
 *
 * Varints are unsigned LEB128 (protobuf / Go `binary.Uvarint`), written and read with
 * `@tikv-ts/codec`; fixed-width integers are u32 little-endian. A golden-bytes test pins the layout.
 *
 * Entries are stored as their protobuf encoding (eraftpb.Entry), so the stored length is the
 * entry's size for `maxSizeBytes` and a read-back decodes to exactly what was written.
 */
import { type RaftEntry, type RaftLocalState, RaftEngineCorruptionError } from '@tikv-ts/engine-traits';
import {
  ByteReader,
  ByteWriter,
  CodecError,
  U32_SIZE,
  decodeU32Le,
  encodeU32Le,
  encodeU32LeTo,
  encodeUvarintTo,
} from '@tikv-ts/codec';
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
  const w = new ByteWriter(FILE_HEADER_BYTES);
  w.append(FILE_MAGIC);
  encodeU32LeTo(w, FILE_VERSION);
  encodeU32LeTo(w, crc32c(w.view()));
  return w.toBytes();
}

/** True when `buf` starts with a valid file header of a version this code reads. */
export function isValidFileHeader(buf: Uint8Array): boolean {
  if (buf.length < FILE_HEADER_BYTES) return false;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (buf[i] !== FILE_MAGIC[i]) return false;
  return decodeU32Le(buf, 8) === FILE_VERSION && decodeU32Le(buf, 12) === crc32c(buf.subarray(0, 12));
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
  // The header is filled in once the payload (and so its length and crc) is known.
  const headerAt = w.advance(RECORD_HEADER_BYTES);
  const out: LogOp[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'append': {
        encodeUvarintTo(w, OP_APPEND);
        encodeUvarintTo(w, op.regionId);
        encodeUvarintTo(w, op.firstIndex);
        encodeUvarintTo(w, op.entries.length);
        const items: AppendItem[] = [];
        for (let i = 0; i < op.entries.length; i++) {
          const entry = op.entries[i] as RaftEntry;
          const bytes = op.encoded[i] as Uint8Array;
          encodeUvarintTo(w, entry.term);
          encodeUvarintTo(w, bytes.length);
          items.push({ term: entry.term, offset: w.length - RECORD_HEADER_BYTES, length: bytes.length, entry });
          w.append(bytes);
        }
        out.push({ kind: 'append', regionId: op.regionId, firstIndex: op.firstIndex, items });
        break;
      }
      case 'cut':
        encodeUvarintTo(w, OP_CUT);
        encodeUvarintTo(w, op.regionId);
        encodeUvarintTo(w, op.fromIndex);
        out.push(op);
        break;
      case 'compact':
        encodeUvarintTo(w, OP_COMPACT);
        encodeUvarintTo(w, op.regionId);
        encodeUvarintTo(w, op.index);
        out.push(op);
        break;
      case 'putState':
        encodeUvarintTo(w, OP_PUT_STATE);
        encodeUvarintTo(w, op.regionId);
        encodeState(w, op.state);
        out.push({ kind: 'putState', regionId: op.regionId, state: cloneState(op.state) });
        break;
      case 'removeState':
        encodeUvarintTo(w, OP_REMOVE_STATE);
        encodeUvarintTo(w, op.regionId);
        out.push(op);
        break;
      default: {
        const never: never = op;
        throw new TypeError(`Unknown op ${String(never)}`);
      }
    }
  }
  // A view of the writer's memory; the writer is dropped here, so nothing else aliases it.
  const bytes = w.view();
  const payloadLength = bytes.length - RECORD_HEADER_BYTES;
  bytes.set(encodeU32Le(RECORD_MAGIC), headerAt);
  bytes.set(encodeU32Le(payloadLength), headerAt + U32_SIZE);
  const crc = crc32c(bytes.subarray(RECORD_HEADER_BYTES), crc32c(bytes.subarray(headerAt, headerAt + 2 * U32_SIZE)));
  bytes.set(encodeU32Le(crc), headerAt + 2 * U32_SIZE);
  return { bytes, ops: out };
}

/** Result of checking the record header at the start of `buf`. */
export type RecordCheck =
  | { ok: true; payloadLength: number }
  | { ok: false; reason: string };

/** Validates a record header; `available` is how many bytes the file holds from the header on. */
export function checkRecordHeader(buf: Uint8Array, available: number): RecordCheck {
  if (available < RECORD_HEADER_BYTES) return { ok: false, reason: `only ${available} bytes left for a record header` };
  if (decodeU32Le(buf, 0) !== RECORD_MAGIC) return { ok: false, reason: 'bad record magic' };
  const payloadLength = decodeU32Le(buf, 4);
  if (payloadLength > available - RECORD_HEADER_BYTES) {
    return { ok: false, reason: `record length ${payloadLength} runs past the end of the file` };
  }
  return { ok: true, payloadLength };
}

/** True when the crc of a record (header at `buf[0..12)`, payload after it) matches. */
export function checkRecordCrc(record: Uint8Array): boolean {
  const payload = record.subarray(RECORD_HEADER_BYTES);
  return decodeU32Le(record, 8) === crc32c(payload, crc32c(record.subarray(0, 8)));
}

/**
 * Reads a uvarint that must be a safe integer (a tag, count, length or flags).
 *
 * @throws CodecError `KV:Codec:Truncated`, or `KV:Codec:VarintOverflow` when above 2^53 - 1
 */
function readSmall(r: ByteReader, input: Uint8Array): number {
  const at = r.offset;
  const v = r.readUvarint();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CodecError('KV:Codec:VarintOverflow', `Varint ${v} is not a safe integer`, { input, offset: at });
  }
  return Number(v);
}

/**
 * Decodes the ops of a payload.
 *
 * @throws CodecError on malformed bytes (`KV:Codec:Truncated`, `KV:Codec:VarintOverflow`),
 *   RaftEngineCorruptionError (without a path) on an unknown op tag; recovery wraps either in a
 *   RaftEngineCorruptionError naming the file and offset
 */
export function decodePayload(payload: Uint8Array): LogOp[] {
  const r = new ByteReader(payload);
  const ops: LogOp[] = [];
  while (!r.isEof()) {
    const tagAt = r.offset;
    const tag = readSmall(r, payload);
    switch (tag) {
      case OP_APPEND: {
        const regionId = r.readUvarint();
        const firstIndex = r.readUvarint();
        const count = readSmall(r, payload);
        const items: AppendItem[] = [];
        for (let i = 0; i < count; i++) {
          const term = r.readUvarint();
          const length = readSmall(r, payload);
          const offset = r.offset;
          r.readRaw(length);
          items.push({ term, offset, length, entry: undefined });
        }
        ops.push({ kind: 'append', regionId, firstIndex, items });
        break;
      }
      case OP_CUT:
        ops.push({ kind: 'cut', regionId: r.readUvarint(), fromIndex: r.readUvarint() });
        break;
      case OP_COMPACT:
        ops.push({ kind: 'compact', regionId: r.readUvarint(), index: r.readUvarint() });
        break;
      case OP_PUT_STATE: {
        const regionId = r.readUvarint();
        ops.push({ kind: 'putState', regionId, state: decodeState(r, payload) });
        break;
      }
      case OP_REMOVE_STATE:
        ops.push({ kind: 'removeState', regionId: r.readUvarint() });
        break;
      default:
        throw new RaftEngineCorruptionError(`Unknown op tag ${tag} at payload offset ${tagAt}`);
    }
  }
  return ops;
}

function encodeState(w: ByteWriter, state: RaftLocalState): void {
  const hs = state.hardState;
  encodeUvarintTo(w, hs === undefined ? 0 : 1);
  if (hs !== undefined) {
    encodeUvarintTo(w, hs.term);
    encodeUvarintTo(w, hs.vote);
    encodeUvarintTo(w, hs.commit);
  }
  encodeUvarintTo(w, state.lastIndex);
}

function decodeState(r: ByteReader, payload: Uint8Array): RaftLocalState {
  const flags = readSmall(r, payload);
  const hardState = flags & 1 ? { term: r.readUvarint(), vote: r.readUvarint(), commit: r.readUvarint() } : undefined;
  return { hardState, lastIndex: r.readUvarint() };
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

