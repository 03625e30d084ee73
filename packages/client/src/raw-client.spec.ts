// RawClient routing over TestPdClient and a scripted in-memory store that checks every request's
// region, epoch, leader and key range like TiKV does (PROTOCOL.md §5) — splits the client does not
// know of, NotLeader hints, busy and dead stores — on a ManualClock (no real sleeps).
import { compareBytes, toHex } from '@tikv-ts/codec';
import { TestPdClient } from '@tikv-ts/pd-client/testing';
import { errorpb, kvrpcpb, metapb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import { Backoffer, splitBatches } from './cluster';
import { ClientTimeoutError, DeadlockError, KeyErrorUnknown, KeyExistsError, RegionError, RegionUnavailableError, TxnAbortedError, WriteConflictError, keyErrorToError } from './errors';
import { RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE, RawClient } from './raw-client';
import type { RequestOf, ResponseOf, TikvTransport, UnaryMethod } from './transport';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** The authoritative side: regions with their leaders, data, and injected faults. */
class FakeStores implements TikvTransport {
  readonly regions = new Map<bigint, metapb.Region>();
  readonly leaders = new Map<bigint, bigint>(); // region id → leader peer id
  readonly data = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  readonly calls: { addr: string; method: string; regionError?: string }[] = [];
  /** Stores (by address) that fail every call. */
  readonly down = new Set<string>();
  busyAnswers = 0;

  constructor(readonly pd: TestPdClient) {}

  async split(at: string): Promise<void> {
    const key = enc(at);
    const r = [...this.regions.values()].find((x) => compareBytes(x.startKey, key) <= 0 && (x.endKey.length === 0 || compareBytes(key, x.endKey) < 0));
    if (r === undefined) throw new Error('no region');
    const [id] = await this.pd.askBatchSplit(r, 1);
    const version = (r.regionEpoch?.version ?? 0n) + 1n;
    const left = metapb.Region.fromPartial({ ...r, id: id?.newRegionId ?? 0n, endKey: key, regionEpoch: { ...r.regionEpoch, version }, peers: r.peers.map((p, i) => ({ ...p, id: id?.newPeerIds[i] ?? 0n })) });
    const right = metapb.Region.fromPartial({ ...r, startKey: key, regionEpoch: { ...r.regionEpoch, version } });
    this.regions.set(left.id, left);
    this.regions.set(right.id, right);
    const leaderIdx = r.peers.findIndex((p) => p.id === this.leaders.get(r.id));
    this.leaders.set(left.id, left.peers[leaderIdx]?.id ?? 0n);
    await this.pd.reportBatchSplit([left, right]);
  }

  close(): void {
    this.calls.push({ addr: '', method: 'close' });
  }

  async call<M extends UnaryMethod>(addr: string, method: M, request: RequestOf<M>, _timeoutMs: number): Promise<ResponseOf<M>> {
    if (this.down.has(addr)) {
      this.calls.push({ addr, method });
      throw Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14 });
    }
    const req = request as unknown as { context: kvrpcpb.Context; key?: Uint8Array; keys?: Uint8Array[]; pairs?: kvrpcpb.KvPair[]; value?: Uint8Array; startKey?: Uint8Array; endKey?: Uint8Array; limit?: number };
    const answer = (o: object): ResponseOf<M> => o as ResponseOf<M>;
    const regionError = (e: Partial<errorpb.Error>, what: string): ResponseOf<M> => {
      this.calls.push({ addr, method, regionError: what });
      return answer({ regionError: errorpb.Error.fromPartial(e), error: '' });
    };
    const ctx = req.context;
    const region = this.regions.get(ctx.regionId);
    if (region === undefined) return regionError({ regionNotFound: { regionId: ctx.regionId } }, 'regionNotFound');
    if (ctx.regionEpoch?.version !== region.regionEpoch?.version) {
      return regionError({ epochNotMatch: { currentRegions: [...this.regions.values()] } }, 'epochNotMatch');
    }
    const leaderId = this.leaders.get(region.id);
    if (ctx.peer?.id !== leaderId) return regionError({ notLeader: { regionId: region.id, leader: region.peers.find((p) => p.id === leaderId) } }, 'notLeader');
    if (this.busyAnswers > 0) {
      this.busyAnswers--;
      return regionError({ serverIsBusy: errorpb.ServerIsBusy.fromPartial({ reason: 'scheduler busy' }) }, 'serverIsBusy');
    }
    const keys = [...(req.key !== undefined ? [req.key] : []), ...(req.keys ?? []), ...(req.pairs ?? []).map((p) => p.key)];
    for (const k of keys) {
      if (compareBytes(k, region.startKey) < 0 || (region.endKey.length > 0 && compareBytes(k, region.endKey) >= 0)) {
        return regionError({ keyNotInRegion: { key: k, regionId: region.id, startKey: region.startKey, endKey: region.endKey } }, 'keyNotInRegion');
      }
    }
    this.calls.push({ addr, method });
    switch (method as string) {
      case 'rawPut':
        this.data.set(toHex(req.key as Uint8Array), { key: req.key as Uint8Array, value: req.value as Uint8Array });
        return answer({ error: '' });
      case 'rawBatchPut':
        for (const p of req.pairs ?? []) this.data.set(toHex(p.key), { key: p.key, value: p.value });
        return answer({ error: '' });
      case 'rawGet': {
        const v = this.data.get(toHex(req.key as Uint8Array));
        return answer({ error: '', value: v?.value ?? new Uint8Array(0), notFound: v === undefined });
      }
      case 'rawBatchGet':
        return answer({ pairs: (req.keys ?? []).flatMap((k) => (this.data.has(toHex(k)) ? [this.data.get(toHex(k))] : [])) });
      case 'rawScan': {
        const end = region.endKey.length > 0 && (req.endKey?.length === 0 || compareBytes(req.endKey as Uint8Array, region.endKey) > 0) ? region.endKey : (req.endKey as Uint8Array);
        const kvs = [...this.data.values()]
          .filter((p) => compareBytes(p.key, req.startKey as Uint8Array) >= 0 && (end.length === 0 || compareBytes(p.key, end) < 0))
          .sort((a, b) => compareBytes(a.key, b.key))
          .slice(0, req.limit);
        return answer({ kvs });
      }
      default:
        throw new Error(`unscripted ${method}`);
    }
  }
}

async function setup(options: { peers?: number } = {}): Promise<{ clock: ManualClock; pd: TestPdClient; stores: FakeStores; client: RawClient }> {
  const clock = new ManualClock();
  const pd = new TestPdClient({ clock });
  await pd.bootstrap(metapb.Store.fromPartial({ id: 1n, address: 'store1:20160' }), metapb.Region.fromPartial({ id: 2n, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: 3n, storeId: 1n }] }));
  const stores = new FakeStores(pd);
  let region = metapb.Region.fromPartial({ id: 2n, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: 3n, storeId: 1n }] });
  if ((options.peers ?? 1) > 1) {
    await pd.putStore(metapb.Store.fromPartial({ id: 4n, address: 'store4:20160' }));
    region = metapb.Region.fromPartial({ id: 2n, regionEpoch: { confVer: 2n, version: 1n }, peers: [{ id: 3n, storeId: 1n }, { id: 5n, storeId: 4n }] });
    await pd.regionHeartbeat({ region, leader: region.peers[0] as metapb.Peer } as never);
  }
  stores.regions.set(2n, region);
  stores.leaders.set(2n, 3n);
  const client = new RawClient(pd, { clock, transport: stores, maxBackoffMs: 5000 });
  return { clock, pd, stores, client };
}

/** Runs `p` while advancing the manual clock, so backoff sleeps complete. */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 100000 && !done; i++) await clock.advanceAsync(1);
  return p;
}

describe('RawClient routing', () => {
  it('follows splits it does not know of (EpochNotMatch) and splits batches by region', async () => {
    const { clock, stores, client } = await setup();
    await drive(clock, client.put(enc('a'), enc('1')));
    await stores.split('h');
    await stores.split('p');
    const pairs = Array.from({ length: 26 }, (_, i) => ({ key: enc(String.fromCharCode(97 + i)), value: enc(`v${i}`) }));
    await drive(clock, client.batchPut(pairs));
    expect(stores.calls.some((c) => c.regionError === 'epochNotMatch')).toBe(true);
    const puts = stores.calls.filter((c) => c.method === 'rawBatchPut' && c.regionError === undefined);
    expect(puts).toHaveLength(3);
    const got = await drive(clock, client.batchGet([enc('b'), enc('i'), enc('q'), enc('zz')]));
    expect(got.map((p) => dec(p.value))).toEqual(['v1', 'v8', 'v16']);
    const scan = await drive(clock, client.scan(enc('f'), enc('r'), { limit: 100 }));
    expect(scan.map((p) => dec(p.key)).join('')).toBe('fghijklmnopq');
    const limited = await drive(clock, client.scan(enc(''), enc(''), { limit: 9 }));
    expect(limited.map((p) => dec(p.key)).join('')).toBe('abcdefghi');
  });

  it('retries at once on the leader named by NotLeader', async () => {
    const { clock, stores, client } = await setup({ peers: 2 });
    stores.leaders.set(2n, 5n); // leadership moved to the peer on store 4
    const before = clock.monotonicMs();
    await drive(clock, client.put(enc('k'), enc('v')));
    expect(stores.calls.map((c) => `${c.addr} ${c.regionError ?? 'ok'}`)).toEqual(['store1:20160 notLeader', 'store4:20160 ok']);
    expect(clock.monotonicMs() - before).toBeLessThan(50);
    // The cache now knows the leader: no more NotLeader.
    expect(dec(await drive(clock, client.get(enc('k'))))).toBe('v');
    expect(stores.calls.at(-1)).toEqual({ addr: 'store4:20160', method: 'rawGet' });
  });

  it('backs off on ServerIsBusy and succeeds when the store recovers', async () => {
    const { clock, stores, client } = await setup();
    stores.busyAnswers = 3;
    const before = clock.monotonicMs();
    await drive(clock, client.put(enc('k'), enc('v')));
    expect(stores.calls.filter((c) => c.regionError === 'serverIsBusy')).toHaveLength(3);
    // 100 + 200 + 400 ms of backoff.
    expect(clock.monotonicMs() - before).toBeGreaterThanOrEqual(700);
  });

  it('gives up with RegionUnavailableError when the store stays down for the whole budget', async () => {
    const { clock, stores, client } = await setup();
    stores.down.add('store1:20160');
    const err = await drive(clock, client.get(enc('k'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegionUnavailableError);
    expect((err as RegionUnavailableError).regionId).toBe(2n);
    expect(clock.monotonicMs()).toBeLessThanOrEqual(5100);
    expect(stores.calls.length).toBeGreaterThan(3);
    // The store comes back: the next call works.
    stores.down.clear();
    await drive(clock, client.put(enc('k'), enc('back')));
    expect(dec(await drive(clock, client.get(enc('k'))))).toBe('back');
  });
});

describe('Backoffer', () => {
  it('grows per kind, honours maxMs, and throws past the budget without sleeping', async () => {
    const clock = new ManualClock();
    const bo = new Backoffer(clock, 1000);
    for (let i = 0; i < 3; i++) await drive(clock, bo.backoff('rpc', undefined));
    expect(bo.sleptMs).toBe(700);
    await drive(clock, bo.backoff('txnLock', undefined, { maxMs: 5 }));
    expect(bo.sleptMs).toBe(705);
    const err = await drive(clock, bo.backoff('rpc', 'cause')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientTimeoutError);
    expect(bo.sleptMs).toBe(705);
  });
});

describe('batch limits', () => {
  it('splits by pair count and by bytes like client-go', () => {
    const small = Array.from({ length: 1200 }, (_, i) => ({ key: enc(`k${i}`), value: enc('v') }));
    const size = (p: { key: Uint8Array; value: Uint8Array }): number => p.key.length + p.value.length;
    expect(splitBatches(small, size, RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE).map((b) => b.length)).toEqual([512, 512, 176]);
    const big = Array.from({ length: 5 }, (_, i) => ({ key: enc(`k${i}`), value: new Uint8Array(6000) }));
    expect(splitBatches(big, size, RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE).map((b) => b.length)).toEqual([2, 2, 1]);
    // One item larger than the limit still goes (alone).
    expect(splitBatches([{ key: enc('x'), value: new Uint8Array(20000) }], size, 512, RAW_BATCH_PUT_SIZE)).toHaveLength(1);
  });
});

describe('KeyError mapping', () => {
  const base = kvrpcpb.KeyError.fromPartial({});
  it('maps each variant to its typed error', () => {
    expect(keyErrorToError({ ...base, conflict: kvrpcpb.WriteConflict.fromPartial({ startTs: 5n, conflictTs: 6n, conflictCommitTs: 7n, key: enc('k') }) })).toBeInstanceOf(WriteConflictError);
    expect(keyErrorToError({ ...base, alreadyExist: { key: enc('k') } })).toBeInstanceOf(KeyExistsError);
    expect(keyErrorToError({ ...base, deadlock: kvrpcpb.Deadlock.fromPartial({ lockTs: 3n, lockKey: enc('k') }) })).toBeInstanceOf(DeadlockError);
    expect(keyErrorToError({ ...base, retryable: 'TxnLockNotFound { start_ts: 1 }' })).toBeInstanceOf(TxnAbortedError);
    expect(keyErrorToError({ ...base, abort: 'something else' })).toBeInstanceOf(KeyErrorUnknown);
    const wc = keyErrorToError({ ...base, conflict: kvrpcpb.WriteConflict.fromPartial({ startTs: 5n, conflictTs: 6n, conflictCommitTs: 7n, key: enc('k') }) }) as WriteConflictError;
    expect([wc.code, wc.startTs, wc.conflictCommitTs]).toEqual(['KV:Client:WriteConflict', 5n, 7n]);
  });

  it('RegionError carries the errorpb error', () => {
    const e = new RegionError(errorpb.Error.fromPartial({ message: 'too large', raftEntryTooLarge: { regionId: 1n, entrySize: 9n } }));
    expect(e.code).toBe('KV:Client:RegionError');
    expect(e.error.raftEntryTooLarge?.entrySize).toBe(9n);
  });
});
