// A real cluster for the client tests: one pd-server and one tikv-server process (built apps) on
// free 127.0.0.1 ports with temporary data dirs, plus a raw kvproto client for setting up state
// (region splits, a "dead client"'s prewrites).
import type { kvrpcpb } from '@tikv-ts/proto';
import { type PdProc, type TikvProc, TikvClient, cleanupDirs, contextOf, regionFor, regionsOf, startPd, startTikv } from '../server/harness';

export interface TestCluster {
  readonly pd: PdProc;
  readonly kv: TikvProc;
  readonly pdUrl: string;
  /** Low-level kvproto client to the store. */
  readonly raw: TikvClient;
  /** Splits the region containing `key` at `key` (raw or txn key form). */
  split(key: Uint8Array, mode: 'raw' | 'txn'): Promise<void>;
  /** A request Context for the region holding `key`. */
  contextFor(key: Uint8Array, mode: 'raw' | 'txn'): Promise<kvrpcpb.Context>;
  stop(): Promise<void>;
}

const CONFIG = `
[raftstore]
pd-heartbeat-tick-interval = "200ms"
pd-store-heartbeat-tick-interval = "200ms"
`;

/** Starts PD and one TiKV; `extraToml` is appended to the TiKV config. */
export async function startCluster(extraToml = ''): Promise<TestCluster> {
  const pd = await startPd();
  let kv: TikvProc;
  try {
    kv = await startTikv({ pdUrl: pd.url, configToml: CONFIG + extraToml });
  } catch (e) {
    await pd.proc.stop('SIGKILL');
    throw e;
  }
  const raw = new TikvClient(kv.addr);
  const boundary = (key: Uint8Array, mode: 'raw' | 'txn'): Uint8Array => (mode === 'raw' ? key : encodeKey(key));
  const contextFor = async (key: Uint8Array, mode: 'raw' | 'txn'): Promise<kvrpcpb.Context> => contextOf(regionFor(await regionsOf(kv.statusUrl), boundary(key, mode)));
  return {
    pd,
    kv,
    pdUrl: pd.url,
    raw,
    contextFor,
    async split(key, mode) {
      const context = await contextFor(key, mode);
      const r = await raw.call<kvrpcpb.SplitRegionResponse>('splitRegion', { context, splitKeys: [key], isRawKv: mode === 'raw' });
      if (r.regionError !== undefined) throw new Error(`split failed: ${JSON.stringify(r.regionError)}`);
    },
    async stop() {
      raw.close();
      await kv.proc.stop('SIGKILL');
      await pd.proc.stop('SIGKILL');
    },
  };
}

export { cleanupDirs };

/** TiKV's memcomparable encoding of a txn key (groups of 8 bytes, padded, with a marker). */
export function encodeKey(raw: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i <= raw.length; i += 8) {
    const n = Math.min(8, raw.length - i);
    for (let j = 0; j < 8; j++) out.push(j < n ? (raw[i + j] as number) : 0);
    out.push(0xff - (8 - n));
  }
  return Uint8Array.from(out);
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
