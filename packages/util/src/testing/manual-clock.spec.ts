import { ManualClock, MANUAL_CLOCK_DEFAULT_WALL_MS } from './manual-clock';

describe('ManualClock', () => {
  it('starts at the configured times and moves only when advanced', () => {
    const clock = new ManualClock();
    expect(clock.nowMs()).toBe(MANUAL_CLOCK_DEFAULT_WALL_MS);
    expect(clock.monotonicMs()).toBe(0);
    clock.advance(250);
    expect(clock.monotonicMs()).toBe(250);
    expect(clock.nowMs()).toBe(MANUAL_CLOCK_DEFAULT_WALL_MS + 250);
    const c2 = new ManualClock({ startWallMs: 1000, startMonotonicMs: 50 });
    expect([c2.nowMs(), c2.monotonicMs()]).toEqual([1000, 50]);
  });

  it('fires timers in (time, seq) order with the clock at each due time', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const at = (name: string) => () => log.push(`${name}@${clock.monotonicMs()}`);
    clock.setTimer(30, at('c'));
    clock.setTimer(10, at('a1'));
    clock.setTimer(10, at('a2'));
    clock.setTimer(20, at('b'));
    clock.setTimer(0, at('z'));
    expect(clock.pendingTimers()).toBe(5);
    expect(clock.nextTimerDueMs()).toBe(0);
    expect(clock.advance(25)).toBe(4);
    expect(log).toEqual(['z@0', 'a1@10', 'a2@10', 'b@20']);
    expect(clock.monotonicMs()).toBe(25);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(5);
    expect(log).toEqual(['z@0', 'a1@10', 'a2@10', 'b@20', 'c@30']);
  });

  it('does not fire a zero-delay timer synchronously, only on the next advance', () => {
    const clock = new ManualClock();
    let fired = false;
    clock.setTimer(0, () => (fired = true));
    expect(fired).toBe(false);
    clock.advance(0);
    expect(fired).toBe(true);
  });

  it('fires timers scheduled by callbacks within the same advance', () => {
    const clock = new ManualClock();
    const log: number[] = [];
    clock.setTimer(10, () => {
      log.push(clock.monotonicMs());
      clock.setTimer(5, () => log.push(clock.monotonicMs()));
      clock.setTimer(50, () => log.push(clock.monotonicMs()));
    });
    clock.advance(20);
    expect(log).toEqual([10, 15]);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('cancel() prevents firing and is idempotent, also after firing', () => {
    const clock = new ManualClock();
    let count = 0;
    const h = clock.setTimer(5, () => count++);
    const h2 = clock.setTimer(5, () => count++);
    h.cancel();
    h.cancel();
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(10);
    expect(count).toBe(1);
    h2.cancel();
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerDueMs()).toBeUndefined();
  });

  it('runAll fires everything in order and guards against re-arming tickers', () => {
    const clock = new ManualClock();
    const log: number[] = [];
    clock.setTimer(100, () => log.push(clock.monotonicMs()));
    clock.setTimer(7, () => log.push(clock.monotonicMs()));
    expect(clock.runAll()).toBe(2);
    expect(log).toEqual([7, 100]);
    expect(clock.monotonicMs()).toBe(100);

    const tick = (): void => {
      clock.setTimer(1, tick);
    };
    tick();
    expect(() => clock.runAll({ maxTimers: 50 })).toThrow(RangeError);
  });

  it('sleep resolves only when advanced', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = clock.sleep(100).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('sleep rejects with the abort reason and cancels its timer', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = clock.sleep(100, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
    const ac2 = new AbortController();
    ac2.abort();
    await expect(clock.sleep(1, { signal: ac2.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('advanceAsync lets awaiting code run between timers', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        log.push(`tick${i}@${clock.monotonicMs()}`);
      }
    };
    const done = worker();
    clock.setTimer(25, () => log.push(`timer@${clock.monotonicMs()}`));
    expect(await clock.advanceAsync(30)).toBe(4);
    await done;
    expect(log).toEqual(['tick0@10', 'tick1@20', 'timer@25', 'tick2@30']);
    expect(clock.monotonicMs()).toBe(30);
  });

  it('runAllAsync runs awaiting loops to completion', async () => {
    const clock = new ManualClock();
    let n = 0;
    const done = (async () => {
      while (n < 5) {
        await clock.sleep(1000);
        n++;
      }
    })();
    await clock.runAllAsync();
    await done;
    expect(n).toBe(5);
    expect(clock.monotonicMs()).toBe(5000);
  });

  it('setWallMs moves wall time only', () => {
    const clock = new ManualClock();
    clock.advance(10);
    clock.setWallMs(5);
    expect(clock.nowMs()).toBe(5);
    expect(clock.monotonicMs()).toBe(10);
    clock.advance(1);
    expect(clock.nowMs()).toBe(6);
  });

  it('rejects bad delays and moving time backwards', () => {
    const clock = new ManualClock();
    expect(() => clock.setTimer(-1, () => undefined)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    clock.advance(10);
    expect(() => clock.advanceTo(5)).toThrow(RangeError);
  });

  it('a throwing callback propagates and leaves later timers pending', () => {
    const clock = new ManualClock();
    let later = false;
    clock.setTimer(1, () => {
      throw new Error('boom');
    });
    clock.setTimer(2, () => (later = true));
    expect(() => clock.advance(5)).toThrow('boom');
    expect(clock.monotonicMs()).toBe(1);
    expect(later).toBe(false);
    clock.advance(4);
    expect(later).toBe(true);
  });
});
