// TODO(#3): replace with compareBytes from @tikv-ts/codec, the project's single key comparator,
// once it is published; this is the same bytewise order (RocksDB's default comparator).
/** @internal Bytewise order: unsigned lexicographic, a proper prefix first. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
