// RawClient against real pd-server + tikv-server processes: every operation, across region
// splits made before and after the client cached the regions, and TTLs on a V1TTL store.
import { RawClient } from '@tikv-ts/client';
import { type TestCluster, cleanupDirs, dec, enc, startCluster } from './cluster';

jest.setTimeout(120000);

const key = (i: number): Uint8Array => enc(`k${String(i).padStart(5, '0')}`);
const val = (i: number): Uint8Array => enc(`value-${i}-${'x'.repeat(i % 50)}`);

describe('RawClient against a real cluster', () => {
  let cluster: TestCluster;
  let client: RawClient;

  beforeAll(async () => {
    cluster = await startCluster();
    client = await RawClient.connect([cluster.pdUrl]);
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    cleanupDirs();
  });

  it('puts, gets and deletes; an empty value is not a missing key', async () => {
    await client.put(enc('a'), enc('1'));
    expect(dec(await client.get(enc('a')))).toBe('1');
    await client.put(enc('empty'), new Uint8Array(0));
    expect(await client.get(enc('empty'))).toEqual(new Uint8Array(0));
    expect(await client.get(enc('missing'))).toBeUndefined();
    await client.delete(enc('a'));
    expect(await client.get(enc('a'))).toBeUndefined();
    await client.delete(enc('empty'));
  });

  it('splits batches by region and keeps working when regions split under it', async () => {
    const n = 2000;
    const pairs = Array.from({ length: n }, (_, i) => ({ key: key(i), value: val(i) }));
    await client.batchPut(pairs.slice(0, 1000));
    // Split after the client cached the single region: it must follow EpochNotMatch.
    await cluster.split(key(500), 'raw');
    await cluster.split(key(1500), 'raw');
    await client.batchPut(pairs.slice(1000));
    const got = await client.batchGet([key(3), key(499), key(500), key(501), key(1999), enc('nope')]);
    expect(got.map((p) => dec(p.key))).toEqual(['k00003', 'k00499', 'k00500', 'k00501', 'k01999']);
    expect(dec(got[2]?.value)).toBe(dec(val(500)));

    const all = await client.scan(key(0), key(n), { limit: 10240 });
    expect(all).toHaveLength(n);
    expect(all.every((p, i) => dec(p.key) === dec(key(i)) && dec(p.value) === dec(val(i)))).toBe(true);

    const limited = await client.scan(key(490), enc(''), { limit: 20 });
    expect(limited.map((p) => dec(p.key))).toEqual(Array.from({ length: 20 }, (_, i) => dec(key(490 + i))));

    const keysOnly = await client.scan(key(1495), key(1505), { keyOnly: true });
    expect(keysOnly.map((p) => dec(p.key))).toEqual(Array.from({ length: 10 }, (_, i) => dec(key(1495 + i))));
    expect(keysOnly.every((p) => p.value.length === 0)).toBe(true);

    const rev = await client.scan(key(480), key(520), { reverse: true, limit: 30 });
    expect(rev.map((p) => dec(p.key))).toEqual(Array.from({ length: 30 }, (_, i) => dec(key(519 - i))));
    const revAll = await client.scan(key(0), enc(''), { reverse: true });
    expect(revAll).toHaveLength(n);
    expect(dec(revAll[0]?.key)).toBe('k01999');

    // Checksum over three regions equals the combination of per-key checksums.
    const sum = await client.checksum(key(0), key(n));
    expect(sum.totalKvs).toBe(BigInt(n));
    expect(sum.totalBytes).toBe(BigInt(pairs.reduce((s, p) => s + p.key.length + p.value.length, 0)));
    let xor = 0n;
    for (const i of [0, 1, 499, 500, 1999]) xor ^= (await client.checksum(key(i), key(i + 1))).crc64Xor;
    const part = (await client.checksum(key(0), key(2))).crc64Xor ^ (await client.checksum(key(499), key(501))).crc64Xor ^ (await client.checksum(key(1999), key(2000))).crc64Xor;
    expect(part).toBe(xor);

    await client.batchDelete([key(0), key(500), key(1999)]);
    expect(await client.batchGet([key(0), key(500), key(1999)])).toEqual([]);

    // Delete a range spanning the three regions.
    await client.deleteRange(key(400), key(1600));
    const left = await client.scan(key(0), key(n));
    expect(left).toHaveLength(n - 1200 - 2);
    expect(left.some((p) => dec(p.key) === 'k00400' || dec(p.key) === 'k01599')).toBe(false);
    await client.deleteRange(enc(''), enc(''));
    expect(await client.scan(enc(''), enc(''))).toEqual([]);
  });

  it('compare-and-swap', async () => {
    const k = enc('cas');
    expect(await client.compareAndSwap(k, undefined, enc('v1'))).toEqual({ succeed: true, previous: undefined });
    const miss = await client.compareAndSwap(k, enc('wrong'), enc('v2'));
    expect(miss.succeed).toBe(false);
    expect(dec(miss.previous)).toBe('v1');
    const hit = await client.compareAndSwap(k, enc('v1'), enc('v2'));
    expect(hit.succeed).toBe(true);
    expect(dec(await client.get(k))).toBe('v2');
  });

  it('reports closed clients as typed errors', async () => {
    const c = await RawClient.connect([cluster.pdUrl]);
    await c.close();
    await expect(c.get(enc('a'))).rejects.toMatchObject({ code: 'KV:Client:InvalidState' });
  });
});

describe('RawClient TTL on a V1TTL store', () => {
  let cluster: TestCluster;
  let client: RawClient;

  beforeAll(async () => {
    cluster = await startCluster('\n[storage]\nenable-ttl = true\n');
    client = await RawClient.connect([cluster.pdUrl]);
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    cleanupDirs();
  });

  it('puts with a TTL and reads it back', async () => {
    await client.put(enc('t1'), enc('v'), { ttlSec: 100n });
    const ttl = await client.getKeyTtl(enc('t1'));
    expect(ttl).toBeGreaterThan(90n);
    expect(ttl).toBeLessThanOrEqual(100n);
    await client.batchPut([{ key: enc('t2'), value: enc('v') }], { ttlSec: 50n });
    expect(await client.getKeyTtl(enc('t2'))).toBeGreaterThan(40n);
    await client.put(enc('t3'), enc('v'));
    expect(await client.getKeyTtl(enc('t3'))).toBe(0n);
    expect(await client.getKeyTtl(enc('t4'))).toBeUndefined();
    // A 1-second TTL expires.
    await client.put(enc('t5'), enc('v'), { ttlSec: 1n });
    await new Promise((r) => setTimeout(r, 2100));
    expect(await client.get(enc('t5'))).toBeUndefined();
  });

});
