import fc from 'fast-check';
import { kvrpcpb } from '@tikv-ts/proto';
import { BadFormatError, Lock, Write, mutationFromProto } from './txn-types';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const u64 = (n: number): number[] => {
  const out: number[] = [];
  let x = BigInt(n);
  for (let i = 0; i < 8; i++) {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
};

describe('Lock record (TiKV layout)', () => {
  it('encodes the fixed part and optional fields byte for byte', () => {
    const lock = new Lock({ lockType: 'put', primary: b('pk'), ts: 5n, ttl: 3000n, shortValue: b('v') });
    expect([...lock.toBytes()]).toEqual([0x50, 0x04, 0x70, 0x6b, 0x05, 0xb8, 0x17, 0x76, 0x01, 0x76]);
    const full = new Lock({
      lockType: 'pessimistic',
      primary: b('p'),
      ts: 1n,
      ttl: 0n,
      forUpdateTs: 10n,
      txnSize: 3n,
      minCommitTs: 11n,
      useAsyncCommit: true,
      secondaries: [b('s')],
      rollbackTs: [7n],
    });
    expect([...full.toBytes()]).toEqual([
      0x53, 0x02, 0x70, 0x01, 0x00,
      0x66, ...u64(10),
      0x74, ...u64(3),
      0x63, ...u64(11),
      0x61, 0x01, 0x02, 0x73,
      0x72, 0x01, ...u64(7),
    ]);
    expect(Lock.parse(full.toBytes())).toEqual(full);
  });

  it('round-trips every field (fast-check, seed printed on failure)', () => {
    const bytes = fc.uint8Array({ maxLength: 20 });
    const u = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
    fc.assert(
      fc.property(
        fc.constantFrom('put', 'delete', 'lock', 'pessimistic' as const),
        bytes,
        u,
        u,
        fc.option(fc.uint8Array({ maxLength: 255 }), { nil: undefined }),
        u,
        u,
        u,
        fc.boolean(),
        fc.array(bytes, { maxLength: 3 }),
        fc.array(u, { maxLength: 3 }),
        (lockType, primary, ts, ttl, shortValue, forUpdateTs, txnSize, minCommitTs, useAsyncCommit, secondaries, rollbackTs) => {
          const lock = new Lock({
            lockType,
            primary,
            ts,
            ttl,
            shortValue,
            forUpdateTs,
            txnSize,
            minCommitTs,
            useAsyncCommit,
            secondaries: useAsyncCommit ? secondaries : [],
            rollbackTs,
          });
          expect(Lock.parse(lock.toBytes())).toEqual(lock);
        },
      ),
      { seed: Number(process.env['SIM_SEED'] ?? 42), verbose: true },
    );
  });

  it('rejects garbage with BadFormatError', () => {
    expect(() => Lock.parse(Uint8Array.of(0x51))).toThrow(BadFormatError);
    expect(() => Lock.parse(Uint8Array.of())).toThrow(BadFormatError);
    expect(() => Lock.parse(Uint8Array.of(0x50, 0x04, 0x70))).toThrow(BadFormatError);
  });

  it('reports LockInfo as TiKV does', () => {
    const info = new Lock({ lockType: 'delete', primary: b('p'), ts: 9n, ttl: 100n, txnSize: 2n }).toLockInfo(b('k'));
    expect(info.lockType).toBe(kvrpcpb.Op.Del);
    expect([info.lockVersion, info.lockTtl, info.txnSize]).toEqual([9n, 100n, 2n]);
    expect(info.key).toEqual(b('k'));
  });
});

describe('Write record (TiKV layout)', () => {
  it('encodes put, protected rollback, overlapped rollback and gc fence byte for byte', () => {
    expect([...new Write({ writeType: 'put', startTs: 5n, shortValue: b('v') }).toBytes()]).toEqual([0x50, 0x05, 0x76, 0x01, 0x76]);
    expect([...Write.rollback(5n, true).toBytes()]).toEqual([0x52, 0x05, 0x76, 0x01, 0x70]);
    expect([...Write.rollback(300n, false).toBytes()]).toEqual([0x52, 0xac, 0x02]);
    const w = new Write({ writeType: 'lock', startTs: 1n, hasOverlappedRollback: true, gcFence: 8n });
    expect([...w.toBytes()]).toEqual([0x4c, 0x01, 0x52, 0x46, ...u64(8)]);
    expect(Write.parse(w.toBytes())).toEqual(w);
    expect(Write.rollback(5n, true).isProtected()).toBe(true);
    expect(Write.rollback(5n, false).isProtected()).toBe(false);
  });

  it('rejects garbage with BadFormatError', () => {
    expect(() => Write.parse(Uint8Array.of(0x58, 0x01))).toThrow(BadFormatError);
  });
});

describe('mutationFromProto', () => {
  it('maps prewrite ops and refuses the others', () => {
    const m = (op: kvrpcpb.Op) => kvrpcpb.Mutation.fromPartial({ op, key: b('k'), value: b('v') });
    expect(mutationFromProto(m(kvrpcpb.Op.Insert)).type).toBe('insert');
    expect(mutationFromProto(m(kvrpcpb.Op.CheckNotExists)).type).toBe('checkNotExists');
    expect(() => mutationFromProto(m(kvrpcpb.Op.Rollback))).toThrow(TypeError);
  });
});
