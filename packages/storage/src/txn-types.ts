import {
  ByteReader,
  ByteWriter,
  encodeU64To,
  encodeUvarintTo,
  encodeVarintTo,
} from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

/** Values up to this many bytes are inlined in lock and write records (TiKV `SHORT_VALUE_MAX_LEN`). */
export const SHORT_VALUE_MAX_LEN = 255;
/** Prefix byte of an inlined short value in lock and write records. */
export const SHORT_VALUE_PREFIX = 0x76; // 'v'
/** The largest u64: TiKV's `TimeStamp::max()`, "read the latest". */
export const TS_MAX = 0xffff_ffff_ffff_ffffn;

/** Whether `value` is short enough to be inlined in a lock or write record. */
export function isShortValue(value: Uint8Array): boolean {
  return value.length <= SHORT_VALUE_MAX_LEN;
}

/** A lock or write record could not be decoded. */
export class BadFormatError extends TikvError {
  readonly code = 'KV:Storage:BadFormat';
  constructor(what: 'lock' | 'write', cause: unknown) {
    super(`Bad format ${what} record`, { cause });
  }
}

/** Kind of a Percolator lock: byte 'P', 'D', 'L' or 'S' (pessimistic) in the record. */
export type LockType = 'put' | 'delete' | 'lock' | 'pessimistic';

const LOCK_FLAGS: Record<LockType, number> = {
  put: 0x50,
  delete: 0x44,
  lock: 0x4c,
  pessimistic: 0x53,
};
const FOR_UPDATE_TS_PREFIX = 0x66; // f
const TXN_SIZE_PREFIX = 0x74; // t
const MIN_COMMIT_TS_PREFIX = 0x63; // c
const ASYNC_COMMIT_PREFIX = 0x61; // a
const ROLLBACK_TS_PREFIX = 0x72; // r
const LOCK_LAST_CHANGE_PREFIX = 0x6c; // l
const LOCK_TXN_SOURCE_PREFIX = 0x73; // s
const PESSIMISTIC_LOCK_WITH_CONFLICT_PREFIX = 0x46; // F
const GENERATION_PREFIX = 0x67; // g

function writeCompactBytes(w: ByteWriter, b: Uint8Array): void {
  encodeVarintTo(w, b.length);
  w.append(b);
}

function readCompactBytes(r: ByteReader): Uint8Array {
  const n = Number(r.readVarint());
  return r.readRaw(n).slice();
}

/** Fields of a {@link Lock}; omitted fields take TiKV's defaults (0, empty, false). */
export interface LockFields {
  lockType: LockType;
  primary: Uint8Array;
  ts: bigint;
  ttl?: bigint;
  shortValue?: Uint8Array | undefined;
  forUpdateTs?: bigint;
  txnSize?: bigint;
  minCommitTs?: bigint;
  useAsyncCommit?: boolean;
  useOnePc?: boolean;
  secondaries?: Uint8Array[];
  rollbackTs?: bigint[];
  lastChangeTs?: bigint;
  versionsToLastChange?: bigint;
  txnSource?: bigint;
  isLockedWithConflict?: boolean;
  generation?: bigint;
}

/**
 * A Percolator lock (TiKV `txn_types::Lock`), stored in CF `lock` at the encoded user key.
 * The byte layout is TiKV's: type byte, primary as compact bytes, varint start ts, varint ttl, then
 * optional fields each behind a one-byte prefix ('v' short value, 'f' for_update_ts, 't' txn size,
 * 'c' min_commit_ts, 'a' async commit + secondaries, 'r' rollback ts list, 'l' last change,
 * 's' txn source, 'F' locked with conflict, 'g' generation). Mutable plain object: commands copy
 * before changing a lock they read.
 */
export class Lock {
  lockType: LockType;
  primary: Uint8Array;
  ts: bigint;
  ttl: bigint;
  shortValue: Uint8Array | undefined;
  forUpdateTs: bigint;
  txnSize: bigint;
  minCommitTs: bigint;
  useAsyncCommit: boolean;
  /** Only in memory (lock table), never persisted: the lock belongs to a 1PC prewrite. */
  useOnePc: boolean;
  secondaries: Uint8Array[];
  rollbackTs: bigint[];
  lastChangeTs: bigint;
  versionsToLastChange: bigint;
  txnSource: bigint;
  isLockedWithConflict: boolean;
  generation: bigint;

  constructor(f: LockFields) {
    this.lockType = f.lockType;
    this.primary = f.primary;
    this.ts = f.ts;
    this.ttl = f.ttl ?? 0n;
    this.shortValue = f.shortValue;
    this.forUpdateTs = f.forUpdateTs ?? 0n;
    this.txnSize = f.txnSize ?? 0n;
    this.minCommitTs = f.minCommitTs ?? 0n;
    this.useAsyncCommit = f.useAsyncCommit ?? false;
    this.useOnePc = f.useOnePc ?? false;
    this.secondaries = f.secondaries ?? [];
    this.rollbackTs = f.rollbackTs ?? [];
    this.lastChangeTs = f.lastChangeTs ?? 0n;
    this.versionsToLastChange = f.versionsToLastChange ?? 0n;
    this.txnSource = f.txnSource ?? 0n;
    this.isLockedWithConflict = f.isLockedWithConflict ?? false;
    this.generation = f.generation ?? 0n;
  }

  /** A copy (arrays of ts and secondaries are copied, byte arrays shared). */
  clone(): Lock {
    return new Lock({
      ...this,
      secondaries: [...this.secondaries],
      rollbackTs: [...this.rollbackTs],
    });
  }

  /** Whether this is a pessimistic lock (type 'S', not yet prewritten). */
  isPessimisticLock(): boolean {
    return this.lockType === 'pessimistic';
  }

  /** Whether this lock belongs to a pessimistic transaction (for_update_ts set). */
  isPessimisticTxn(): boolean {
    return this.forUpdateTs !== 0n;
  }

  /** TiKV's record bytes. */
  toBytes(): Uint8Array {
    const w = new ByteWriter(32 + this.primary.length + (this.shortValue?.length ?? 0));
    w.appendByte(LOCK_FLAGS[this.lockType]);
    writeCompactBytes(w, this.primary);
    encodeUvarintTo(w, this.ts);
    encodeUvarintTo(w, this.ttl);
    if (this.shortValue !== undefined) {
      w.appendByte(SHORT_VALUE_PREFIX);
      w.appendByte(this.shortValue.length);
      w.append(this.shortValue);
    }
    if (this.forUpdateTs !== 0n) {
      w.appendByte(FOR_UPDATE_TS_PREFIX);
      encodeU64To(w, this.forUpdateTs);
    }
    if (this.txnSize > 0n) {
      w.appendByte(TXN_SIZE_PREFIX);
      encodeU64To(w, this.txnSize);
    }
    if (this.minCommitTs !== 0n) {
      w.appendByte(MIN_COMMIT_TS_PREFIX);
      encodeU64To(w, this.minCommitTs);
    }
    if (this.useAsyncCommit) {
      w.appendByte(ASYNC_COMMIT_PREFIX);
      encodeUvarintTo(w, this.secondaries.length);
      for (const k of this.secondaries) writeCompactBytes(w, k);
    }
    if (this.rollbackTs.length > 0) {
      w.appendByte(ROLLBACK_TS_PREFIX);
      encodeUvarintTo(w, this.rollbackTs.length);
      for (const ts of this.rollbackTs) encodeU64To(w, ts);
    }
    if (this.lastChangeTs !== 0n || this.versionsToLastChange !== 0n) {
      w.appendByte(LOCK_LAST_CHANGE_PREFIX);
      encodeU64To(w, this.lastChangeTs);
      encodeUvarintTo(w, this.versionsToLastChange);
    }
    if (this.txnSource !== 0n) {
      w.appendByte(LOCK_TXN_SOURCE_PREFIX);
      encodeUvarintTo(w, this.txnSource);
    }
    if (this.isLockedWithConflict) w.appendByte(PESSIMISTIC_LOCK_WITH_CONFLICT_PREFIX);
    if (this.generation > 0n) {
      w.appendByte(GENERATION_PREFIX);
      encodeU64To(w, this.generation);
    }
    return w.toBytes();
  }

  /**
   * Decodes TiKV's record bytes.
   * @throws BadFormatError when the bytes are not a lock record
   */
  static parse(bytes: Uint8Array): Lock {
    try {
      const r = new ByteReader(bytes);
      const flag = r.readU8();
      const lockType = (Object.keys(LOCK_FLAGS) as LockType[]).find((t) => LOCK_FLAGS[t] === flag);
      if (lockType === undefined) throw new Error(`unknown lock type byte ${flag}`);
      const primary = readCompactBytes(r);
      const ts = r.readUvarint();
      const ttl = r.readUvarint();
      const lock = new Lock({ lockType, primary, ts, ttl });
      while (!r.isEof()) {
        const p = r.readU8();
        switch (p) {
          case SHORT_VALUE_PREFIX: {
            const n = r.readU8();
            lock.shortValue = r.readRaw(n).slice();
            break;
          }
          case FOR_UPDATE_TS_PREFIX:
            lock.forUpdateTs = r.readU64();
            break;
          case TXN_SIZE_PREFIX:
            lock.txnSize = r.readU64();
            break;
          case MIN_COMMIT_TS_PREFIX:
            lock.minCommitTs = r.readU64();
            break;
          case ASYNC_COMMIT_PREFIX: {
            lock.useAsyncCommit = true;
            const n = Number(r.readUvarint());
            for (let i = 0; i < n; i++) lock.secondaries.push(readCompactBytes(r));
            break;
          }
          case ROLLBACK_TS_PREFIX: {
            const n = Number(r.readUvarint());
            for (let i = 0; i < n; i++) lock.rollbackTs.push(r.readU64());
            break;
          }
          case LOCK_LAST_CHANGE_PREFIX:
            lock.lastChangeTs = r.readU64();
            lock.versionsToLastChange = r.readUvarint();
            break;
          case LOCK_TXN_SOURCE_PREFIX:
            lock.txnSource = r.readUvarint();
            break;
          case PESSIMISTIC_LOCK_WITH_CONFLICT_PREFIX:
            lock.isLockedWithConflict = true;
            break;
          case GENERATION_PREFIX:
            lock.generation = r.readU64();
            break;
          default:
            // TiKV ignores unknown trailing fields of newer versions; we cannot skip them safely.
            throw new Error(`unknown lock field prefix ${p}`);
        }
      }
      return lock;
    } catch (e: unknown) {
      if (e instanceof BadFormatError) throw e;
      throw new BadFormatError('lock', e);
    }
  }

  /** The lock as MVCC debug output (`MvccGetByKey`, `debugpb.ScanMvcc`). */
  toMvccLock(): kvrpcpb.MvccLock {
    return kvrpcpb.MvccLock.fromPartial({
      type: this.toLockInfo(new Uint8Array(0)).lockType,
      startTs: this.ts,
      primary: this.primary,
      shortValue: this.shortValue ?? new Uint8Array(0),
      ttl: this.ttl,
      forUpdateTs: this.forUpdateTs,
      txnSize: this.txnSize,
      useAsyncCommit: this.useAsyncCommit,
      secondaries: this.secondaries,
      rollbackTs: this.rollbackTs,
      lastChangeTs: this.lastChangeTs,
      versionsToLastChange: this.versionsToLastChange,
    });
  }

  /** The lock as a `kvrpcpb.LockInfo` for user key `rawKey` (TiKV `into_lock_info`). */
  toLockInfo(rawKey: Uint8Array): kvrpcpb.LockInfo {
    return kvrpcpb.LockInfo.fromPartial({
      primaryLock: this.primary,
      lockVersion: this.ts,
      key: rawKey,
      lockTtl: this.ttl,
      txnSize: this.txnSize,
      lockType: lockTypeToOp(this.lockType),
      lockForUpdateTs: this.forUpdateTs,
      useAsyncCommit: this.useAsyncCommit,
      minCommitTs: this.minCommitTs,
      secondaries: this.secondaries,
    });
  }
}

/** `kvrpcpb.Op` of a lock type, as TiKV reports it in `LockInfo.lock_type`. */
export function lockTypeToOp(t: LockType): kvrpcpb.Op {
  switch (t) {
    case 'put':
      return kvrpcpb.Op.Put;
    case 'delete':
      return kvrpcpb.Op.Del;
    case 'lock':
      return kvrpcpb.Op.Lock;
    case 'pessimistic':
      return kvrpcpb.Op.PessimisticLock;
    default: {
      const never: never = t;
      throw new TypeError(`Unknown lock type ${String(never)}`);
    }
  }
}

/** Kind of a write record: byte 'P', 'D', 'L' or 'R' in the record. */
export type WriteType = 'put' | 'delete' | 'lock' | 'rollback';

const WRITE_FLAGS: Record<WriteType, number> = {
  put: 0x50,
  delete: 0x44,
  lock: 0x4c,
  rollback: 0x52,
};
const FLAG_OVERLAPPED_ROLLBACK = 0x52; // R
const GC_FENCE_PREFIX = 0x46; // F
const WRITE_LAST_CHANGE_PREFIX = 0x6c; // l
const WRITE_TXN_SOURCE_PREFIX = 0x53; // S

/** Fields of a {@link Write}. */
export interface WriteFields {
  writeType: WriteType;
  startTs: bigint;
  shortValue?: Uint8Array | undefined;
  hasOverlappedRollback?: boolean;
  gcFence?: bigint | undefined;
  lastChangeTs?: bigint;
  versionsToLastChange?: bigint;
  txnSource?: bigint;
}

/**
 * A commit or rollback record (TiKV `txn_types::Write`), stored in CF `write` at
 * `key + commit_ts` (a rollback at `key + start_ts`). Layout: type byte, varint start ts, then
 * 'v' short value, 'R' overlapped rollback, 'F' gc fence (u64), 'l' last change, 'S' txn source.
 */
export class Write {
  writeType: WriteType;
  startTs: bigint;
  shortValue: Uint8Array | undefined;
  hasOverlappedRollback: boolean;
  gcFence: bigint | undefined;
  lastChangeTs: bigint;
  versionsToLastChange: bigint;
  txnSource: bigint;

  constructor(f: WriteFields) {
    this.writeType = f.writeType;
    this.startTs = f.startTs;
    this.shortValue = f.shortValue;
    this.hasOverlappedRollback = f.hasOverlappedRollback ?? false;
    this.gcFence = f.gcFence;
    this.lastChangeTs = f.lastChangeTs ?? 0n;
    this.versionsToLastChange = f.versionsToLastChange ?? 0n;
    this.txnSource = f.txnSource ?? 0n;
  }

  /** A protected rollback record for a transaction that started at `startTs` (TiKV `new_rollback`). */
  static rollback(startTs: bigint, isProtected: boolean): Write {
    // TiKV marks a protected rollback with the short value "p" (PROTECTED_ROLLBACK_SHORT_VALUE).
    return new Write({
      writeType: 'rollback',
      startTs,
      shortValue: isProtected ? PROTECTED_ROLLBACK_SHORT_VALUE : undefined,
    });
  }

  /** Whether this is a protected rollback (must not be collapsed away). */
  isProtected(): boolean {
    return (
      this.writeType === 'rollback' &&
      this.shortValue !== undefined &&
      this.shortValue.length === 1 &&
      this.shortValue[0] === PROTECTED_ROLLBACK_SHORT_VALUE[0]
    );
  }

  /** TiKV's record bytes. */
  toBytes(): Uint8Array {
    const w = new ByteWriter(16 + (this.shortValue?.length ?? 0));
    w.appendByte(WRITE_FLAGS[this.writeType]);
    encodeUvarintTo(w, this.startTs);
    if (this.shortValue !== undefined) {
      w.appendByte(SHORT_VALUE_PREFIX);
      w.appendByte(this.shortValue.length);
      w.append(this.shortValue);
    }
    if (this.hasOverlappedRollback) w.appendByte(FLAG_OVERLAPPED_ROLLBACK);
    if (this.gcFence !== undefined) {
      w.appendByte(GC_FENCE_PREFIX);
      encodeU64To(w, this.gcFence);
    }
    if (this.lastChangeTs !== 0n || this.versionsToLastChange !== 0n) {
      w.appendByte(WRITE_LAST_CHANGE_PREFIX);
      encodeU64To(w, this.lastChangeTs);
      encodeUvarintTo(w, this.versionsToLastChange);
    }
    if (this.txnSource !== 0n) {
      w.appendByte(WRITE_TXN_SOURCE_PREFIX);
      encodeUvarintTo(w, this.txnSource);
    }
    return w.toBytes();
  }

  /**
   * Decodes TiKV's record bytes.
   * @throws BadFormatError when the bytes are not a write record
   */
  static parse(bytes: Uint8Array): Write {
    try {
      const r = new ByteReader(bytes);
      const flag = r.readU8();
      const writeType = (Object.keys(WRITE_FLAGS) as WriteType[]).find(
        (t) => WRITE_FLAGS[t] === flag,
      );
      if (writeType === undefined) throw new Error(`unknown write type byte ${flag}`);
      const w = new Write({ writeType, startTs: r.readUvarint() });
      while (!r.isEof()) {
        const p = r.readU8();
        switch (p) {
          case SHORT_VALUE_PREFIX: {
            const n = r.readU8();
            w.shortValue = r.readRaw(n).slice();
            break;
          }
          case FLAG_OVERLAPPED_ROLLBACK:
            w.hasOverlappedRollback = true;
            break;
          case GC_FENCE_PREFIX:
            w.gcFence = r.readU64();
            break;
          case WRITE_LAST_CHANGE_PREFIX:
            w.lastChangeTs = r.readU64();
            w.versionsToLastChange = r.readUvarint();
            break;
          case WRITE_TXN_SOURCE_PREFIX:
            w.txnSource = r.readUvarint();
            break;
          default:
            throw new Error(`unknown write field prefix ${p}`);
        }
      }
      return w;
    } catch (e: unknown) {
      if (e instanceof BadFormatError) throw e;
      throw new BadFormatError('write', e);
    }
  }

  /** The write record committed at `commitTs` as MVCC debug output. */
  toMvccWrite(commitTs: bigint): kvrpcpb.MvccWrite {
    return kvrpcpb.MvccWrite.fromPartial({
      type: this.toOp(),
      startTs: this.startTs,
      commitTs,
      shortValue: this.shortValue ?? new Uint8Array(0),
      hasOverlappedRollback: this.hasOverlappedRollback,
      hasGcFence: this.gcFence !== undefined,
      gcFence: this.gcFence ?? 0n,
      lastChangeTs: this.lastChangeTs,
      versionsToLastChange: this.versionsToLastChange,
    });
  }

  /** `kvrpcpb.Op` of the write type (for MVCC debug output). */
  toOp(): kvrpcpb.Op {
    switch (this.writeType) {
      case 'put':
        return kvrpcpb.Op.Put;
      case 'delete':
        return kvrpcpb.Op.Del;
      case 'lock':
        return kvrpcpb.Op.Lock;
      case 'rollback':
        return kvrpcpb.Op.Rollback;
      default: {
        const never: never = this.writeType;
        throw new TypeError(`Unknown write type ${String(never)}`);
      }
    }
  }
}

/** TiKV's marker value of a protected rollback record. */
export const PROTECTED_ROLLBACK_SHORT_VALUE: Uint8Array = Uint8Array.of(0x70); // 'p'

/**
 * One mutation of a prewrite (TiKV `txn_types::Mutation`). `key` is the user (raw) key.
 * `assertion` is `kvrpcpb.Assertion` (None/Exist/NotExist).
 */
export type Mutation =
  | {
      readonly type: 'put';
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      readonly assertion?: kvrpcpb.Assertion;
    }
  | { readonly type: 'delete'; readonly key: Uint8Array; readonly assertion?: kvrpcpb.Assertion }
  | { readonly type: 'lock'; readonly key: Uint8Array; readonly assertion?: kvrpcpb.Assertion }
  | {
      readonly type: 'insert';
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      readonly assertion?: kvrpcpb.Assertion;
    }
  | {
      readonly type: 'checkNotExists';
      readonly key: Uint8Array;
      readonly assertion?: kvrpcpb.Assertion;
    };

/**
 * A {@link Mutation} from a `kvrpcpb.Mutation`.
 * @throws TypeError for ops that are not prewrite mutations (Rollback, PessimisticLock)
 */
export function mutationFromProto(m: kvrpcpb.Mutation): Mutation {
  const assertion = m.assertion;
  switch (m.op) {
    case kvrpcpb.Op.Put:
      return { type: 'put', key: m.key, value: m.value, assertion };
    case kvrpcpb.Op.Del:
      return { type: 'delete', key: m.key, assertion };
    case kvrpcpb.Op.Lock:
      return { type: 'lock', key: m.key, assertion };
    case kvrpcpb.Op.Insert:
      return { type: 'insert', key: m.key, value: m.value, assertion };
    case kvrpcpb.Op.CheckNotExists:
      return { type: 'checkNotExists', key: m.key, assertion };
    case kvrpcpb.Op.Rollback:
    case kvrpcpb.Op.PessimisticLock:
      throw new TypeError(`Mutation op ${kvrpcpb.Op[m.op]} is not a prewrite mutation`);
    default: {
      const never: never = m.op;
      throw new TypeError(`Unknown mutation op ${String(never)}`);
    }
  }
}
