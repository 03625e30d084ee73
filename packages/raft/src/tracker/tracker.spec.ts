import { Inflights } from './inflights';
import { Progress, ProgressState } from './progress';

describe('Inflights', () => {
  it('fills up to its capacity and frees by index', () => {
    const ins = new Inflights(3);
    ins.add(1n);
    ins.add(2n);
    ins.add(5n);
    expect(ins.full()).toBe(true);
    expect(() => ins.add(6n)).toThrow();
    ins.freeTo(2n);
    expect(ins.count).toBe(1);
    ins.add(7n);
    ins.freeFirstOne();
    expect(ins.count).toBe(1);
    ins.freeTo(100n);
    expect(ins.count).toBe(0);
    for (let i = 0; i < 1000; i++) {
      ins.add(BigInt(i + 10));
      ins.freeTo(BigInt(i + 10));
    }
    expect(ins.count).toBe(0);
  });
});

describe('Progress', () => {
  it('probe: paused after one send until resumed', () => {
    const p = new Progress(5n, 4);
    expect(p.isPaused()).toBe(false);
    p.probeSent = true;
    expect(p.isPaused()).toBe(true);
    p.resume();
    expect(p.isPaused()).toBe(false);
  });

  it('replicate: paused only when the inflight window is full', () => {
    const p = new Progress(5n, 2);
    p.becomeReplicate();
    p.ins.add(5n);
    expect(p.isPaused()).toBe(false);
    p.ins.add(6n);
    expect(p.isPaused()).toBe(true);
  });

  it('snapshot: always paused; probing restarts after the snapshot', () => {
    const p = new Progress(5n, 2);
    p.matched = 3n;
    p.becomeSnapshot(10n);
    expect(p.isPaused()).toBe(true);
    p.becomeProbe();
    expect(p.state).toBe(ProgressState.Probe);
    expect(p.nextIdx).toBe(11n);
  });

  it('maybeUpdate ignores stale acks and advances next', () => {
    const p = new Progress(5n, 2);
    p.matched = 4n;
    expect(p.maybeUpdate(3n)).toBe(false);
    expect(p.maybeUpdate(6n)).toBe(true);
    expect(p.nextIdx).toBe(7n);
  });

  it('maybeDecrTo: stale rejections are ignored; probe moves next to the hint', () => {
    const r = new Progress(10n, 2);
    r.becomeReplicate();
    r.matched = 5n;
    expect(r.maybeDecrTo(5n, 5n, 0n)).toBe(false);
    expect(r.maybeDecrTo(7n, 3n, 0n)).toBe(true);
    expect(r.nextIdx).toBe(6n);
    const p = new Progress(10n, 2);
    expect(p.maybeDecrTo(5n, 3n, 0n)).toBe(false); // not the index we probed (next-1 = 9)
    expect(p.maybeDecrTo(9n, 3n, 0n)).toBe(true);
    expect(p.nextIdx).toBe(4n);
    expect(p.maybeDecrTo(3n, 100n, 0n)).toBe(true);
    expect(p.nextIdx).toBe(3n);
    expect(p.maybeDecrTo(1n, 0n, 7n)).toBe(true);
    expect(p.pendingRequestSnapshot).toBe(7n);
  });
});
