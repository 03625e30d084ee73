// A bootstrapped single-store Node on engine-memory with a FakePd, for service specs.
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { kvrpcpb } from '@tikv-ts/proto';
import { createTestRuntime } from '@tikv-ts/util/testing';
import { Node } from '../node';
import { FakePd } from './fake-pd';

export async function startSingleStore(seed: number, raftEntryMaxSizeBytes = 1000) {
  const rt = createTestRuntime(seed);
  const kv = MemoryEngine.open();
  const pd = new FakePd();
  const node = await Node.start({
    kv,
    pd: pd.client(),
    logger: rt.logger,
    apiVersion: kvrpcpb.APIVersion.V1,
    raftEntryMaxSizeBytes,
    store: { address: 'a:1', statusAddress: 'a:2', version: 'v', startTimestampSec: 0n },
  });
  return { rt, kv, pd, node };
}
