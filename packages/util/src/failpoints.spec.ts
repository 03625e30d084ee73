import { FailpointPanic, Failpoints, parseFailpointActions } from './failpoints';
import { SeededRng } from './seeded-rng';
import { ManualClock } from './testing/manual-clock';

function setup(withRng = true) {
  const clock = new ManualClock();
  const fp = new Failpoints(withRng ? { clock, rng: new SeededRng(5n) } : { clock });
  return { clock, fp };
}

describe('Failpoints', () => {
  it('is disabled and inert with nothing set', async () => {
    const { fp } = setup();
    expect(fp.enabled).toBe(false);
    expect(await fp.eval('a::b')).toBeUndefined();
    expect(fp.evalSync('a::b')).toBeUndefined();
  });

  it('returns injected values, true for a bare return', async () => {
    const { fp } = setup();
    fp.set('storage::get', { action: 'return', value: 42 });
    expect(fp.enabled).toBe(true);
    expect(await fp.eval('storage::get')).toBe(42);
    expect(fp.evalSync('storage::get')).toBe(42);
    expect(await fp.eval('other')).toBeUndefined();
    fp.set('storage::get', { action: 'return' });
    expect(fp.evalSync('storage::get')).toBe(true);
    expect(fp.hits('storage::get')).toBe(3);
    fp.remove('storage::get');
    expect(fp.enabled).toBe(false);
    expect(await fp.eval('storage::get')).toBeUndefined();
  });

  it('throws injected errors from eval and evalSync', async () => {
    const { fp } = setup();
    const err = new Error('disk on fire');
    fp.set('x', { action: 'throw', error: err });
    await expect(fp.eval('x')).rejects.toBe(err);
    expect(() => fp.evalSync('x')).toThrow(err);
  });

  it('limits tasks with times and falls through to the next task', async () => {
    const { fp } = setup();
    fp.set('x', [{ action: 'return', value: 'a', times: 2 }, { action: 'off', times: 1 }, { action: 'return', value: 'b' }]);
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await fp.eval('x'));
    expect(got).toEqual(['a', 'a', undefined, 'b', 'b']);
    fp.set('y', { action: 'return', value: 1, times: 1 });
    expect(fp.evalSync('y')).toBe(1);
    expect(fp.evalSync('y')).toBeUndefined();
  });

  it('delays through the clock', async () => {
    const { clock, fp } = setup();
    fp.set('slow', { action: 'delay', ms: 100 });
    let done = false;
    const p = fp.eval('slow').then(() => (done = true));
    await clock.advanceAsync(99);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);
    expect(() => fp.evalSync('slow')).toThrow(TypeError);
  });

  it('pauses until resume, remove or a new set', async () => {
    const { fp } = setup();
    fp.set('apply::before_write', { action: 'pause' });
    const order: string[] = [];
    const a = fp.eval('apply::before_write').then(() => order.push('a'));
    const b = fp.eval('apply::before_write').then(() => order.push('b'));
    await fp.waitPaused('apply::before_write');
    expect(fp.pausedCount('apply::before_write')).toBe(2);
    expect(order).toEqual([]);
    fp.resume('apply::before_write');
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
    // Still set: the next evaluation pauses again; remove releases it.
    const c = fp.eval('apply::before_write').then(() => order.push('c'));
    await fp.waitPaused('apply::before_write');
    fp.remove('apply::before_write');
    await c;
    // set() replaces and releases
    fp.set('p', 'pause');
    const d = fp.eval('p');
    await fp.waitPaused('p');
    fp.set('p', 'off');
    await d;
    // clear() releases everything
    fp.set('q', 'pause');
    const e = fp.eval('q');
    await fp.waitPaused('q');
    fp.clear();
    await e;
    expect(fp.enabled).toBe(false);
    expect(fp.pausedCount('q')).toBe(0);
  });

  it('runs callbacks', async () => {
    const { fp } = setup();
    let n = 0;
    fp.set('cb', { action: 'call', fn: () => n++ });
    await fp.eval('cb');
    fp.evalSync('cb');
    expect(n).toBe(2);
  });

  it('fires with a probability, deterministically by seed', async () => {
    const run = (): number => {
      const fp = new Failpoints({ clock: new ManualClock(), rng: new SeededRng(9n) });
      fp.set('flaky', '30%return');
      let n = 0;
      for (let i = 0; i < 200; i++) if (fp.evalSync('flaky') !== undefined) n++;
      return n;
    };
    const n = run();
    expect(n).toBeGreaterThan(30);
    expect(n).toBeLessThan(90);
    expect(run()).toBe(n);
    expect(() => setup(false).fp.set('x', { action: 'return', probability: 0.5 })).toThrow(TypeError);
  });

  it('parses fail-rs syntax', () => {
    expect(parseFailpointActions('n', '3*return(5)->off')).toEqual([
      { action: 'return', value: '5', times: 3 },
      { action: 'off' },
    ]);
    expect(parseFailpointActions('n', '50%sleep(100)')).toEqual([{ action: 'delay', ms: 100, probability: 0.5 }]);
    expect(parseFailpointActions('n', 'pause')).toEqual([{ action: 'pause' }]);
    const [panic] = parseFailpointActions('n', 'panic(boom)');
    expect(panic).toMatchObject({ action: 'throw' });
    expect((panic as { error: unknown }).error).toBeInstanceOf(FailpointPanic);
    expect(() => parseFailpointActions('n', 'explode')).toThrow(/unknown action/);
    expect(() => parseFailpointActions('n', 'sleep')).toThrow(TypeError);
    expect(() => parseFailpointActions('n', 'return(')).toThrow(TypeError);
  });

  it('configures from the FAILPOINTS format and lists names', () => {
    const { fp } = setup();
    fp.configure('b=return(1); a=panic ;');
    expect(fp.list()).toEqual(['a', 'b']);
    expect(fp.evalSync('b')).toBe('1');
    expect(() => fp.evalSync('a')).toThrow(FailpointPanic);
    expect(() => fp.configure('nonsense')).toThrow(TypeError);
    expect(() => fp.set('', 'off')).toThrow(TypeError);
    expect(() => fp.set('x', { action: 'delay', ms: -1 })).toThrow(TypeError);
  });
});
