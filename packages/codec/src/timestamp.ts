// TSO timestamps (TiKV txn_types::TimeStamp, PD's TSO): a u64 whose high 46 bits are physical
// milliseconds since the Unix epoch and whose low 18 bits are a logical counter within that ms.

/** A TSO timestamp: a u64 bigint, `physicalMs << 18 | logical`. */
export type TimeStamp = bigint;

/** Bits of the logical part (TiKV `TSO_PHYSICAL_SHIFT_BITS`). */
export const TS_LOGICAL_BITS = 18;
/** Mask of the logical part, `2^18 - 1`. */
export const TS_LOGICAL_MASK = (1n << 18n) - 1n;
/** The largest physical part, `2^46 - 1` ms. */
export const TS_MAX_PHYSICAL_MS = (1n << 46n) - 1n;
/** The largest timestamp, `2^64 - 1` (TiKV `TimeStamp::max()`): "read the latest". */
export const MAX_TS: TimeStamp = 0xffff_ffff_ffff_ffffn;
/** The zero timestamp (TiKV `TimeStamp::zero()`): "no timestamp". */
export const ZERO_TS: TimeStamp = 0n;

const SHIFT = BigInt(TS_LOGICAL_BITS);

function toBigInt(v: bigint | number, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new RangeError(`${what} ${v} is not an integer`);
  return BigInt(v);
}

/** Whether `ts` is a bigint in `[0, 2^64)`. */
export function isValidTs(ts: unknown): ts is TimeStamp {
  return typeof ts === 'bigint' && ts >= 0n && ts <= MAX_TS;
}

function checkTs(ts: TimeStamp): void {
  if (!isValidTs(ts)) throw new RangeError(`Timestamp ${String(ts)} is not a u64 bigint`);
}

/**
 * `physicalMs << 18 | logical` (TiKV `TimeStamp::compose`).
 *
 * @param physicalMs - milliseconds since the Unix epoch, in `[0, 2^46)`
 * @param logical - in `[0, 2^18)`, default 0
 * @throws RangeError if a part is out of range
 */
export function composeTs(physicalMs: bigint | number, logical: bigint | number = 0n): TimeStamp {
  const p = toBigInt(physicalMs, 'Physical time');
  const l = toBigInt(logical, 'Logical time');
  if (p < 0n || p > TS_MAX_PHYSICAL_MS) throw new RangeError(`Physical time ${p} ms is out of range [0, 2^46)`);
  if (l < 0n || l > TS_LOGICAL_MASK) throw new RangeError(`Logical time ${l} is out of range [0, 2^18)`);
  return (p << SHIFT) | l;
}

/**
 * The physical part of `ts`, in ms since the Unix epoch (TiKV `TimeStamp::physical`).
 *
 * @throws RangeError if `ts` is not a u64 bigint
 */
export function physicalOf(ts: TimeStamp): bigint {
  checkTs(ts);
  return ts >> SHIFT;
}

/**
 * The logical part of `ts` (TiKV `TimeStamp::logical`).
 *
 * @throws RangeError if `ts` is not a u64 bigint
 */
export function logicalOf(ts: TimeStamp): bigint {
  checkTs(ts);
  return ts & TS_LOGICAL_MASK;
}

/**
 * The timestamp with physical part `physicalMs` and logical 0 (TiKV
 * `TimeStamp::compose(ms, 0)`).
 *
 * @throws RangeError if `physicalMs` is out of `[0, 2^46)`
 */
export function tsFromPhysicalMs(physicalMs: bigint | number): TimeStamp {
  return composeTs(physicalMs, 0n);
}

/**
 * The timestamp of a wall-clock instant, logical 0. Time comes from the caller (a `Clock`), never
 * from this package.
 *
 * @throws RangeError for an invalid or pre-epoch date
 */
export function tsFromDate(date: Date): TimeStamp {
  const ms = date.getTime();
  if (!Number.isSafeInteger(ms)) throw new RangeError('Invalid date');
  return composeTs(ms, 0n);
}

/**
 * The wall-clock instant of the physical part of `ts` (the logical part is dropped).
 *
 * @throws RangeError if `ts` is not a u64 bigint
 */
export function tsToDate(ts: TimeStamp): Date {
  return new Date(Number(physicalOf(ts)));
}

/**
 * `ts + 1` (TiKV `TimeStamp::next`).
 *
 * @throws RangeError if `ts` is {@link MAX_TS} (the result would overflow) or not a u64 bigint
 */
export function nextTs(ts: TimeStamp): TimeStamp {
  checkTs(ts);
  if (ts === MAX_TS) throw new RangeError('Timestamp overflow: MAX_TS has no next timestamp');
  return ts + 1n;
}

/**
 * `ts - 1` (TiKV `TimeStamp::prev`).
 *
 * @throws RangeError if `ts` is {@link ZERO_TS} (the result would underflow) or not a u64 bigint
 */
export function prevTs(ts: TimeStamp): TimeStamp {
  checkTs(ts);
  if (ts === ZERO_TS) throw new RangeError('Timestamp underflow: zero has no previous timestamp');
  return ts - 1n;
}

/** Whether `ts` is {@link MAX_TS}. */
export function isMaxTs(ts: TimeStamp): boolean {
  return ts === MAX_TS;
}

/** Whether `ts` is {@link ZERO_TS}. */
export function isZeroTs(ts: TimeStamp): boolean {
  return ts === ZERO_TS;
}
