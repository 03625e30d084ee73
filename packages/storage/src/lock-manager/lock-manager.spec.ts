import { kvrpcpb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import { DeadlockError } from '../errors';
import { DeadlockDetector } from './deadlock-detector';
import { LockManager } from './lock-manager';

const info = (lockTs: bigint): kvrpcpb.LockInfo => kvrpcpb.LockInfo.fromPartial({ lockVersion: lockTs, key: Uint8Array.of(1) });

describe('DeadlockDetector', () => {
  it('refuses an edge that closes a cycle and returns the chain', () => {
    const d = new DeadlockDetector();
    const key = Uint8Array.of(0);
    expect(d.detect({ txn: 1n, waitForTxn: 2n, keyHash: 10n, key })).toBeUndefined();
    expect(d.detect({ txn: 2n, waitForTxn: 3n, keyHash: 11n, key })).toBeUndefined();
    const cycle = d.detect({ txn: 3n, waitForTxn: 1n, keyHash: 12n, key });
    expect(cycle?.map((e) => [e.txn, e.waitForTxn])).toEqual([
      [1n, 2n],
      [2n, 3n],
      [3n, 1n],
    ]);
    d.cleanUpWaitFor(2n);
    expect(d.detect({ txn: 3n, waitForTxn: 1n, keyHash: 12n, key })).toBeUndefined();
  });
});

describe('LockManager', () => {
  it('wakes the first waiter at once and the others after the wake-up delay', async () => {
    const clock = new ManualClock();
    const lm = new LockManager({ clock, wakeUpDelayMs: 20 });
    const order: string[] = [];
    const w1 = lm.wait(10n, info(5n), 99n, 1000);
    const w2 = lm.wait(11n, info(5n), 99n, 1000);
    void w1.done.then((o) => order.push(`w1 ${o}`));
    void w2.done.then((o) => order.push(`w2 ${o}`));
    lm.wakeUp([{ startTs: 5n, keyHash: 99n }]);
    await clock.advanceAsync(0);
    expect(order).toEqual(['w1 woken']);
    await clock.advanceAsync(20);
    expect(order).toEqual(['w1 woken', 'w2 woken']);
    expect(lm.waiterCount).toBe(0);
  });

  it('times out by the injected clock, and reports deadlocks between waiters', async () => {
    const clock = new ManualClock();
    const lm = new LockManager({ clock });
    const w = lm.wait(10n, info(5n), 1n, 300);
    await clock.advanceAsync(300);
    expect(await w.done).toBe('timeout');
    lm.wait(5n, info(10n), 2n, 1000);
    expect(() => lm.wait(10n, info(5n), 1n, 1000)).toThrow(DeadlockError);
    expect(lm.waitTimeoutMs(0n)).toBe(1000);
    expect(lm.waitTimeoutMs(-1n)).toBeUndefined();
    expect(lm.waitTimeoutMs(50n)).toBe(50);
  });
});
