// Test helpers (TiKV's must_* style) over a Storage; specs provide the engine.
import { composeTs } from '@tikv-ts/codec';
import type { Storage, TxnContext } from '../storage';
import type { Mutation } from '../txn-types';

export const enc = new TextEncoder();
export const k = (s: string): Uint8Array => enc.encode(s);
export const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString());
export const ctx: TxnContext = {};

/** A TSO timestamp with physical ms `ms` and logical `l` (tests use small ms values). */
export const ts = (ms: number, l = 0): bigint => composeTs(BigInt(ms), BigInt(l));

export async function mustPrewrite(
  s: Storage,
  mutations: Mutation[],
  primary: string,
  startTs: bigint,
  extra: { lockTtl?: bigint; forUpdateTs?: bigint; check?: boolean; minCommitTs?: bigint } = {},
): Promise<void> {
  const r = await s.prewrite(ctx, {
    mutations,
    primaryLock: k(primary),
    startVersion: startTs,
    lockTtl: extra.lockTtl ?? 3000n,
    ...(extra.forUpdateTs === undefined ? {} : { forUpdateTs: extra.forUpdateTs }),
    ...(extra.minCommitTs === undefined ? {} : { minCommitTs: extra.minCommitTs }),
    ...(extra.check === true ? { pessimisticActions: mutations.map(() => 1) } : {}),
  });
  if (r.errors.length > 0) throw r.errors[0];
}

export const put = (key: string, value: string | Uint8Array): Mutation => ({
  type: 'put',
  key: k(key),
  value: typeof value === 'string' ? k(value) : value,
});
export const del = (key: string): Mutation => ({ type: 'delete', key: k(key) });

export async function mustPut(s: Storage, key: string, value: string, startTs: bigint, commitTs: bigint): Promise<void> {
  await mustPrewrite(s, [put(key, value)], key, startTs);
  await s.commit(ctx, { keys: [k(key)], startVersion: startTs, commitVersion: commitTs });
}

export async function mustGet(s: Storage, key: string, readTs: bigint): Promise<string | undefined> {
  return str((await s.get(ctx, k(key), readTs)).value);
}
