import { PREPARE_BOOTSTRAP_KEY } from '@tikv-ts/codec';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { kvrpcpb } from '@tikv-ts/proto';
import { createTestRuntime } from '@tikv-ts/util/testing';
import { ClusterIdMismatchError } from './errors';
import { Node, type NodeOptions } from './node';
import { FakePd } from './testdata/fake-pd';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function options(kv: MemoryEngine, pd: FakePd): NodeOptions {
  return {
    kv,
    pd: pd.client(),
    logger: createTestRuntime(1).logger,
    apiVersion: kvrpcpb.APIVersion.V1,
    raftEntryMaxSizeBytes: 1024,
    store: { address: '127.0.0.1:20160', statusAddress: '127.0.0.1:20180', version: '8.5.0', startTimestampSec: 1n },
  };
}

describe('Node', () => {
  it('bootstraps a fresh cluster with one region covering all keys, and reloads it on restart', async () => {
    const kv = MemoryEngine.open();
    const pd = new FakePd();
    const node = await Node.start(options(kv, pd));
    expect(node.clusterId).toBe(7n);
    expect(pd.bootstrapped?.store.address).toBe('127.0.0.1:20160');
    const [region] = node.regions.regions();
    expect(region?.startKey).toEqual(new Uint8Array(0));
    expect(region?.endKey).toEqual(new Uint8Array(0));
    expect(region?.peers).toEqual([expect.objectContaining({ storeId: node.storeId })]);
    expect(pd.stores.get(node.storeId)?.statusAddress).toBe('127.0.0.1:20180');
    expect(await kv.get('raft', PREPARE_BOOTSTRAP_KEY)).toBeUndefined();

    const again = await Node.start(options(kv, pd));
    expect(again.storeId).toBe(node.storeId);
    expect(again.regions.regions()).toEqual(node.regions.regions());
  });

  it('joins an already bootstrapped cluster without regions', async () => {
    const pd = new FakePd();
    await Node.start(options(MemoryEngine.open(), pd));
    const second = await Node.start(options(MemoryEngine.open(), pd));
    expect(second.regions.size).toBe(0);
    expect(pd.stores.size).toBe(2);
  });

  it('refuses a data directory of another cluster', async () => {
    const kv = MemoryEngine.open();
    await Node.start(options(kv, new FakePd()));
    const other = new FakePd();
    other.clusterId = 8n;
    await expect(Node.start(options(kv, other))).rejects.toThrow(ClusterIdMismatchError);
    await expect(Node.start(options(kv, other))).rejects.toThrow(/belongs to cluster 7 but PD serves cluster 8/);
  });

  it('finishes a bootstrap interrupted after PD recorded it', async () => {
    const kv = MemoryEngine.open();
    const pd = new FakePd();
    pd.failBootstrapAfterRecording = true;
    await expect(Node.start(options(kv, pd))).rejects.toThrow(/connection reset/);
    expect(await kv.get('raft', PREPARE_BOOTSTRAP_KEY)).toBeDefined();
    pd.failBootstrapAfterRecording = false;
    const node = await Node.start(options(kv, pd));
    expect(node.regions.regions().map((r) => r.id)).toEqual([pd.bootstrapped?.region.id]);
    expect(await kv.get('raft', PREPARE_BOOTSTRAP_KEY)).toBeUndefined();
  });

  it('splits a region durably (right-derived, version bumped) and reports it to PD', async () => {
    const kv = MemoryEngine.open();
    const pd = new FakePd();
    const node = await Node.start(options(kv, pd));
    const [first] = node.regions.regions();
    const out = await node.splitRegion(first?.id ?? 0n, [enc('m'), enc('g')]);
    expect(out.map((r) => [new TextDecoder().decode(r.startKey), new TextDecoder().decode(r.endKey)])).toEqual([
      ['', 'g'],
      ['g', 'm'],
      ['m', ''],
    ]);
    expect(out[2]?.id).toBe(first?.id);
    expect(out.every((r) => r.regionEpoch?.version === 3n)).toBe(true);
    expect(pd.regions.size).toBe(3);
    await expect(node.splitRegion(first?.id ?? 0n, [enc('a')])).rejects.toThrow(/not inside region/);
    const again = await Node.start(options(kv, pd));
    expect(again.regions.regions()).toEqual(node.regions.regions());
  });
});
