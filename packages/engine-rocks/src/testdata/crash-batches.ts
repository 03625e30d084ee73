import { ALL_CFS } from '@tikv-ts/engine-traits';
import type { CfName } from '@tikv-ts/engine-traits';

/** Keys written by batch `n` of the crash writer: two in every column family. */
export function batchKeys(n: number): { cf: CfName; key: Uint8Array }[] {
  const out: { cf: CfName; key: Uint8Array }[] = [];
  for (const cf of ALL_CFS) for (let j = 0; j < 2; j++) out.push({ cf, key: Buffer.from(`b${String(n).padStart(9, '0')}-${j}`) });
  return out;
}

/** The batch number of a key written by the crash writer. */
export function batchOf(key: Uint8Array): number {
  return Number(Buffer.from(key).toString('latin1').slice(1, 10));
}
