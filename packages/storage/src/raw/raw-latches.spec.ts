import { RawLatches } from './raw-latches';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('RawLatches', () => {
  it('grants one key to one holder at a time, in FIFO order', async () => {
    const latches = new RawLatches();
    const order: string[] = [];
    const r1 = await latches.acquireKeys([k('a')]);
    const p2 = latches.acquireKeys([k('a')]).then((r) => {
      order.push('2');
      return r;
    });
    const p3 = latches.acquireKeys([k('a'), k('a')]).then((r) => {
      order.push('3');
      return r;
    });
    const other = await latches.acquireKeys([k('b')]);
    await flush();
    expect(order).toEqual([]);
    r1();
    r1();
    const r2 = await p2;
    await flush();
    expect(order).toEqual(['2']);
    r2();
    const r3 = await p3;
    expect(order).toEqual(['2', '3']);
    r3();
    other();
    expect(latches.heldKeys).toBe(0);
  });

  it('does not deadlock writers taking overlapping key sets in different orders', async () => {
    const latches = new RawLatches();
    const done: number[] = [];
    const jobs = [
      [k('x'), k('y'), k('z')],
      [k('z'), k('y')],
      [k('y'), k('x')],
      [k('z'), k('x')],
    ].map(async (keys, i) => {
      const release = await latches.acquireKeys(keys);
      await flush();
      done.push(i);
      release();
    });
    await Promise.all(jobs);
    expect(done.sort()).toEqual([0, 1, 2, 3]);
    expect(latches.heldKeys).toBe(0);
  });

  it('makes acquireAll wait for key holders and hold back later key writers', async () => {
    const latches = new RawLatches();
    const events: string[] = [];
    const r1 = await latches.acquireKeys([k('a')]);
    const all = latches.acquireAll().then((r) => {
      events.push('all');
      return r;
    });
    const later = latches.acquireKeys([k('b')]).then((r) => {
      events.push('b');
      return r;
    });
    await flush();
    expect(events).toEqual([]);
    r1();
    const rAll = await all;
    await flush();
    expect(events).toEqual(['all']);
    rAll();
    const rb = await later;
    expect(events).toEqual(['all', 'b']);
    rb();
  });
});
