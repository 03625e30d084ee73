/**
 * TiKV's human-readable durations and sizes (`ReadableDuration`, `ReadableSize` in its config).
 */

const DURATION_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
  ['us', 0.001],
];
const DURATION_MS = new Map(DURATION_UNITS);
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|d|h|m|s)/y;

/**
 * Parses a duration such as `"10s"`, `"500ms"`, `"1h30m"`, `"1.5s"` or `"0"` into milliseconds
 * (units `d`, `h`, `m`, `s`, `ms`, `us`; parts in any order add up).
 * @throws RangeError when the text is not a duration
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  if (s.length === 0) throw new RangeError(`"${text}" is not a duration like "10s" or "500ms"`);
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (m === null) throw new RangeError(`"${text}" is not a duration like "10s" or "500ms"`);
    total += Number(m[1]) * (DURATION_MS.get(m[2] as string) ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw new RangeError(`"${text}" is not a finite duration`);
  return total;
}

/** Formats milliseconds as TiKV does: `"1h30m"`, `"10s"`, `"500ms"`, `"0s"`. */
export function formatDuration(ms: number): string {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`Duration ${ms} ms is not finite and non-negative`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of DURATION_UNITS) {
    if (unit === 'us') break;
    const n = Math.floor(rest / size + 1e-9);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 1e-9) out += `${Math.round(rest * 1000)}us`;
  return out;
}

const SIZE_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['PiB', 2 ** 50],
  ['TiB', 2 ** 40],
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)$/i;
const SIZE_POWER: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * Parses a size such as `"128MiB"`, `"1GB"`, `"64KB"`, `"512B"` or `"1024"` into bytes. As in
 * TiKV, `KB`/`K`/`KiB` all mean 1024 (binary units throughout); case does not matter. Fractions
 * are allowed and rounded down to whole bytes.
 * @throws RangeError when the text is not a size or exceeds 2^53 bytes
 */
export function parseSize(text: string): number {
  const m = SIZE_PATTERN.exec(text.trim());
  if (m === null || (m[3] !== '' && m[2] === '')) throw new RangeError(`"${text}" is not a size like "128MiB" or "1GB"`);
  const bytes = Math.floor(Number(m[1]) * 1024 ** (SIZE_POWER[(m[2] as string).toLowerCase()] ?? 0));
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`Size "${text}" is too large`);
  return bytes;
}

/** Formats bytes in the largest binary unit that divides them: `"96MiB"`, `"1GiB"`, `"100B"`. */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`Size ${bytes} is not a non-negative safe integer`);
  if (bytes === 0) return '0B';
  for (const [unit, size] of SIZE_UNITS) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
