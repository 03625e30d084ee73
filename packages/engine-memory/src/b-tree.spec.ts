import { compareBytes } from '@tikv-ts/codec';
import { TreeCursor, emptyTree, treeDelete, treeGet, treePut } from './b-tree';
import type { TreeNode } from './b-tree';

function key(i: number): Uint8Array {
  return new Uint8Array([i >> 8, i & 0xff]);
}

function keysOf(root: TreeNode): number[] {
  const out: number[] = [];
  const c = new TreeCursor(root);
  for (c.first(); c.valid; c.next()) out.push(((c.key[0] as number) << 8) | (c.key[1] as number));
  return out;
}

describe('persistent B+tree', () => {
  it('keeps every old root unchanged while later epochs write (random ops, capacity 4)', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    let root = emptyTree();
    const model = new Set<number>();
    const history: { root: TreeNode; keys: number[] }[] = [];
    for (let epoch = 1; epoch <= 400; epoch++) {
      for (let j = 0; j < 8; j++) {
        const k = Math.floor(rnd() * 300);
        if (rnd() < 0.6) {
          root = treePut(root, key(k), key(epoch), epoch, 4);
          model.add(k);
        } else {
          root = treeDelete(root, key(k), epoch);
          model.delete(k);
        }
      }
      history.push({ root, keys: [...model].sort((a, b) => a - b) });
    }
    for (const h of history) expect(keysOf(h.root)).toEqual(h.keys);
    const last = history[history.length - 1] as (typeof history)[number];
    const c = new TreeCursor(last.root);
    const rev: number[] = [];
    for (c.last(); c.valid; c.prev()) rev.push(((c.key[0] as number) << 8) | (c.key[1] as number));
    expect(rev).toEqual([...last.keys].reverse());
    for (const k of last.keys) expect(treeGet(last.root, key(k))).toBeDefined();
  });

  it('positions with seekGE, seekLE and seekLT across leaf boundaries', () => {
    let root = emptyTree();
    for (let i = 0; i < 100; i += 2) root = treePut(root, key(i), key(i), 1, 4);
    const c = new TreeCursor(root);
    for (let probe = 0; probe < 101; probe++) {
      c.seekGE(key(probe));
      const ge = probe % 2 === 0 ? probe : probe + 1;
      expect(c.valid ? compareBytes(c.key, key(ge)) : ge >= 100 ? 0 : 1).toBe(0);
      c.seekLE(key(probe));
      const le = probe % 2 === 0 ? probe : probe - 1;
      expect(c.valid ? compareBytes(c.key, key(Math.min(le, 98))) : 0).toBe(0);
      c.seekLT(key(probe));
      if (probe === 0) expect(c.valid).toBe(false);
      else expect(compareBytes(c.key, key(Math.min(probe % 2 === 0 ? probe - 2 : probe - 1, 98)))).toBe(0);
    }
  });
});
