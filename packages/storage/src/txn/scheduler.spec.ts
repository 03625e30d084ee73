import { MemoryEngine } from '@tikv-ts/engine-memory';
import { SchedTooBusyError } from '../errors';
import { LocalEngine } from '../local-engine';
import { Scheduler, type SchedCommand } from './scheduler';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

function cmd(tag: string, keys: string[], log: string[], gate?: Promise<void>, writeBytes = 10): SchedCommand<string> {
  return {
    tag,
    ctx: {},
    priority: tag.startsWith('high') ? 'high' : tag.startsWith('low') ? 'low' : 'normal',
    latchKeys: keys.map(k),
    writeBytes,
    process: async () => {
      log.push(`start ${tag}`);
      if (gate !== undefined) await gate;
      log.push(`end ${tag}`);
      return { result: tag, modifies: [{ type: 'put', cf: 'default', key: k(tag), value: k('') }] };
    },
  };
}

describe('Scheduler', () => {
  it('serializes commands on the same key in arrival order and runs others concurrently', async () => {
    const kv = MemoryEngine.open();
    const s = new Scheduler({ engine: new LocalEngine(kv, { sync: false }) });
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const p1 = s.run(cmd('a1', ['a'], log, gate));
    const p2 = s.run(cmd('a2', ['a'], log));
    const p3 = s.run(cmd('b1', ['b'], log));
    await p3;
    expect(log).toEqual(['start a1', 'start b1', 'end b1']);
    open();
    expect(await Promise.all([p1, p2])).toEqual(['a1', 'a2']);
    expect(log.slice(3)).toEqual(['end a1', 'start a2', 'end a2']);
    await kv.close();
  });

  it('dequeues by priority when at its concurrency limit', async () => {
    const kv = MemoryEngine.open();
    const s = new Scheduler({ engine: new LocalEngine(kv, { sync: false }), concurrency: 1 });
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const first = s.run(cmd('normal-0', ['x'], log, gate));
    const rest = [s.run(cmd('low-1', ['y'], log)), s.run(cmd('normal-2', ['z'], log)), s.run(cmd('high-3', ['w'], log))];
    open();
    await Promise.all([first, ...rest]);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start normal-0', 'start high-3', 'start normal-2', 'start low-1']);
    await kv.close();
  });

  it('a command waiting for a latch does not take a processing slot', async () => {
    const kv = MemoryEngine.open();
    const s = new Scheduler({ engine: new LocalEngine(kv, { sync: false }), concurrency: 2 });
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const a = s.run(cmd('a1', ['x'], log, gate));
    const b = s.run(cmd('a2', ['x'], log));
    expect(await s.run(cmd('c', ['y'], log))).toBe('c');
    expect(log).toEqual(['start a1', 'start c', 'end c']);
    open();
    await Promise.all([a, b]);
    await kv.close();
  });

  it('refuses new writes with ServerIsBusy above the pending-bytes threshold', async () => {
    const kv = MemoryEngine.open();
    const s = new Scheduler({ engine: new LocalEngine(kv, { sync: false }), pendingWriteThresholdBytes: 100 });
    const log: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const big = s.run(cmd('big', ['a'], log, gate, 80));
    expect(s.pendingWriteBytes).toBe(80);
    await expect(s.run(cmd('more', ['b'], log, undefined, 30))).rejects.toBeInstanceOf(SchedTooBusyError);
    open();
    await big;
    expect(s.pendingWriteBytes).toBe(0);
    expect(await s.run(cmd('later', ['b'], log, undefined, 30))).toBe('later');
    await kv.close();
  });

  it('a failing command writes nothing and releases its latches', async () => {
    const kv = MemoryEngine.open();
    const s = new Scheduler({ engine: new LocalEngine(kv, { sync: false }) });
    const failing: SchedCommand<never> = {
      tag: 'fail',
      ctx: {},
      priority: 'normal',
      latchKeys: [k('a')],
      writeBytes: 1,
      process: () => Promise.reject(new Error('boom')),
    };
    await expect(s.run(failing)).rejects.toThrow('boom');
    expect(await s.run(cmd('next', ['a'], []))).toBe('next');
    await kv.close();
  });
});
