/**
 * Column family names. A `KvEngine` has exactly these four; a write batch is atomic across all of
 * them and a snapshot sees all of them at one point in time (ARCHITECTURE.md, storage layout).
 */
export type CfName = 'default' | 'lock' | 'write' | 'raft';

/** Values (TiKV's `default` CF): long transactional values and raw KV data. */
export const CF_DEFAULT = 'default' as const satisfies CfName;
/** Percolator locks. */
export const CF_LOCK = 'lock' as const satisfies CfName;
/** Commit and rollback records (short values inlined). */
export const CF_WRITE = 'write' as const satisfies CfName;
/** Per-region local state (apply state, region state). */
export const CF_RAFT = 'raft' as const satisfies CfName;

/** Every column family, in a fixed order. Frozen: never mutate it. */
export const ALL_CFS: readonly CfName[] = Object.freeze([CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT]);

/** The column families that hold user data (everything except `raft`), as TiKV's DATA_CFS. */
export const DATA_CFS: readonly CfName[] = Object.freeze([CF_DEFAULT, CF_LOCK, CF_WRITE]);

/** Whether `name` is one of {@link ALL_CFS}. */
export function isCfName(name: string): name is CfName {
  return name === CF_DEFAULT || name === CF_LOCK || name === CF_WRITE || name === CF_RAFT;
}

/**
 * Narrows `name` to a {@link CfName}.
 *
 * @throws TypeError when `name` is not a column family of the engine (a programmer error)
 */
export function checkCfName(name: string): CfName {
  if (!isCfName(name)) {
    throw new TypeError(`Unknown column family ${JSON.stringify(name)}; expected one of ${ALL_CFS.join(', ')}`);
  }
  return name;
}
