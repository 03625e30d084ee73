import { SystemClock } from './system-clock';

describe('SystemClock', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('reads wall and monotonic time', () => {
    const clock = new SystemClock();
    const wall = clock.nowMs();
    expect(Math.abs(wall - Date.now())).toBeLessThan(60_000);
    const a = clock.monotonicMs();
    const b = clock.monotonicMs();
    expect(b).toBeGreaterThanOrEqual(a);
  });

  it('fires and cancels timers (fake Node timers)', () => {
    jest.useFakeTimers();
    const clock = new SystemClock();
    const log: string[] = [];
    clock.setTimer(20, () => log.push('b'));
    clock.setTimer(10, () => log.push('a'));
    const h = clock.setTimer(15, () => log.push('x'));
    h.cancel();
    jest.advanceTimersByTime(25);
    expect(log).toEqual(['a', 'b']);
    h.cancel();
  });

  it('sleeps and aborts', async () => {
    jest.useFakeTimers();
    const clock = new SystemClock({ unrefTimers: true });
    const p = clock.sleep(50);
    jest.advanceTimersByTime(50);
    await expect(p).resolves.toBeUndefined();
    const ac = new AbortController();
    const q = clock.sleep(50, { signal: ac.signal });
    ac.abort();
    await expect(q).rejects.toMatchObject({ name: 'AbortError' });
    expect(() => clock.setTimer(-1, () => undefined)).toThrow(RangeError);
  });
});
