// A persistent (copy-on-write) B+tree of byte keys. A tree is a root node; every version of the
// root stays readable and unchanged, so a snapshot is just a set of roots (O(1)). Writes copy the
// path they touch, except nodes created by the same write epoch, which are changed in place (so a
// batch of many puts copies each node at most once). Deletion removes empty nodes but does not
// rebalance: the tree stays correct and its height is bounded by the inserts that built it.

import { compareBytes as compareKeys } from '@tikv-ts/codec';

/** @internal A leaf: sorted keys and their values. */
export interface LeafNode {
  readonly leaf: true;
  readonly epoch: number;
  keys: Uint8Array[];
  vals: Uint8Array[];
}

/** @internal An inner node: `seps[i]` is a lower bound of every key in `children[i + 1]`. */
export interface BranchNode {
  readonly leaf: false;
  readonly epoch: number;
  seps: Uint8Array[];
  children: TreeNode[];
}

/** @internal */
export type TreeNode = LeafNode | BranchNode;

/** @internal Maximum keys per leaf and children per branch. */
export const DEFAULT_NODE_CAPACITY = 64;

/** @internal The empty tree. */
export function emptyTree(): TreeNode {
  return { leaf: true, epoch: -1, keys: [], vals: [] };
}

/** First index whose key is `>= key`. */
function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid] as Uint8Array, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is `> key`. */
function upperBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid] as Uint8Array, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function ownLeaf(n: LeafNode, epoch: number): LeafNode {
  return n.epoch === epoch ? n : { leaf: true, epoch, keys: n.keys.slice(), vals: n.vals.slice() };
}

function ownBranch(n: BranchNode, epoch: number): BranchNode {
  return n.epoch === epoch ? n : { leaf: false, epoch, seps: n.seps.slice(), children: n.children.slice() };
}

/** @internal The value of `key`, or undefined. */
export function treeGet(root: TreeNode, key: Uint8Array): Uint8Array | undefined {
  let node = root;
  while (!node.leaf) node = node.children[upperBound(node.seps, key)] as TreeNode;
  const i = lowerBound(node.keys, key);
  return i < node.keys.length && compareKeys(node.keys[i] as Uint8Array, key) === 0 ? node.vals[i] : undefined;
}

interface PutResult {
  node: TreeNode;
  splitSep?: Uint8Array;
  splitRight?: TreeNode;
}

function putRec(node: TreeNode, key: Uint8Array, val: Uint8Array, epoch: number, cap: number): PutResult {
  if (node.leaf) {
    const i = lowerBound(node.keys, key);
    const n = ownLeaf(node, epoch);
    if (i < n.keys.length && compareKeys(n.keys[i] as Uint8Array, key) === 0) {
      n.vals[i] = val;
      return { node: n };
    }
    n.keys.splice(i, 0, key);
    n.vals.splice(i, 0, val);
    if (n.keys.length <= cap) return { node: n };
    const mid = n.keys.length >>> 1;
    const right: LeafNode = { leaf: true, epoch, keys: n.keys.slice(mid), vals: n.vals.slice(mid) };
    n.keys.length = mid;
    n.vals.length = mid;
    return { node: n, splitSep: right.keys[0] as Uint8Array, splitRight: right };
  }
  const ci = upperBound(node.seps, key);
  const child = node.children[ci] as TreeNode;
  const r = putRec(child, key, val, epoch, cap);
  if (r.node === child && r.splitRight === undefined) return { node };
  const n = ownBranch(node, epoch);
  n.children[ci] = r.node;
  if (r.splitRight === undefined || r.splitSep === undefined) return { node: n };
  n.seps.splice(ci, 0, r.splitSep);
  n.children.splice(ci + 1, 0, r.splitRight);
  if (n.children.length <= cap) return { node: n };
  const mid = n.children.length >>> 1;
  const sep = n.seps[mid - 1] as Uint8Array;
  const right: BranchNode = { leaf: false, epoch, seps: n.seps.slice(mid), children: n.children.slice(mid) };
  n.seps.length = mid - 1;
  n.children.length = mid;
  return { node: n, splitSep: sep, splitRight: right };
}

/**
 * @internal Sets `key` to `val`; returns the new root. Nodes of `epoch` may be changed in place:
 * the caller must never pass an epoch that a still-readable root was written with.
 */
export function treePut(root: TreeNode, key: Uint8Array, val: Uint8Array, epoch: number, cap = DEFAULT_NODE_CAPACITY): TreeNode {
  const r = putRec(root, key, val, epoch, cap);
  if (r.splitRight === undefined || r.splitSep === undefined) return r.node;
  return { leaf: false, epoch, seps: [r.splitSep], children: [r.node, r.splitRight] };
}

function deleteRec(node: TreeNode, key: Uint8Array, epoch: number): TreeNode | null {
  if (node.leaf) {
    const i = lowerBound(node.keys, key);
    if (i >= node.keys.length || compareKeys(node.keys[i] as Uint8Array, key) !== 0) return node;
    const n = ownLeaf(node, epoch);
    n.keys.splice(i, 1);
    n.vals.splice(i, 1);
    return n.keys.length === 0 ? null : n;
  }
  const ci = upperBound(node.seps, key);
  const child = node.children[ci] as TreeNode;
  const r = deleteRec(child, key, epoch);
  if (r === child) return node;
  const n = ownBranch(node, epoch);
  if (r !== null) {
    n.children[ci] = r;
    return n;
  }
  n.children.splice(ci, 1);
  // Dropping child 0 drops the bound of the new first child, which then has no lower bound (fine).
  n.seps.splice(ci > 0 ? ci - 1 : 0, 1);
  return n.children.length === 0 ? null : n;
}

/** @internal Removes `key` if present; returns the new root (the same root when absent). */
export function treeDelete(root: TreeNode, key: Uint8Array, epoch: number): TreeNode {
  let r = deleteRec(root, key, epoch);
  if (r === null) return { leaf: true, epoch, keys: [], vals: [] };
  while (!r.leaf && r.children.length === 1) r = r.children[0] as TreeNode;
  return r;
}

/**
 * @internal A cursor over one immutable root. Positioning is synchronous. The cursor keeps the
 * path from the root to the current leaf.
 */
export class TreeCursor {
  readonly #root: TreeNode;
  readonly #path: BranchNode[] = [];
  readonly #childIdx: number[] = [];
  #leaf: LeafNode | undefined;
  #i = 0;

  constructor(root: TreeNode) {
    this.#root = root;
  }

  get valid(): boolean {
    return this.#leaf !== undefined;
  }

  get key(): Uint8Array {
    return (this.#leaf as LeafNode).keys[this.#i] as Uint8Array;
  }

  get value(): Uint8Array {
    return (this.#leaf as LeafNode).vals[this.#i] as Uint8Array;
  }

  #descend(key: Uint8Array): LeafNode {
    this.#path.length = 0;
    this.#childIdx.length = 0;
    let node = this.#root;
    while (!node.leaf) {
      const ci = upperBound(node.seps, key);
      this.#path.push(node);
      this.#childIdx.push(ci);
      node = node.children[ci] as TreeNode;
    }
    return node;
  }

  #descendEdge(node: TreeNode, last: boolean): void {
    while (!node.leaf) {
      const ci = last ? node.children.length - 1 : 0;
      this.#path.push(node);
      this.#childIdx.push(ci);
      node = node.children[ci] as TreeNode;
    }
    this.#leaf = node.keys.length > 0 ? node : undefined;
    this.#i = last ? node.keys.length - 1 : 0;
  }

  /** Moves to the first key of the next leaf, or becomes invalid. */
  #nextLeaf(): void {
    for (let d = this.#path.length - 1; d >= 0; d--) {
      const parent = this.#path[d] as BranchNode;
      const ci = (this.#childIdx[d] as number) + 1;
      if (ci < parent.children.length) {
        this.#path.length = d + 1;
        this.#childIdx.length = d + 1;
        this.#childIdx[d] = ci;
        this.#descendEdge(parent.children[ci] as TreeNode, false);
        return;
      }
    }
    this.#leaf = undefined;
  }

  /** Moves to the last key of the previous leaf, or becomes invalid. */
  #prevLeaf(): void {
    for (let d = this.#path.length - 1; d >= 0; d--) {
      const parent = this.#path[d] as BranchNode;
      const ci = (this.#childIdx[d] as number) - 1;
      if (ci >= 0) {
        this.#path.length = d + 1;
        this.#childIdx.length = d + 1;
        this.#childIdx[d] = ci;
        this.#descendEdge(parent.children[ci] as TreeNode, true);
        return;
      }
    }
    this.#leaf = undefined;
  }

  /** Positions at the first key `>= key`. */
  seekGE(key: Uint8Array): void {
    const leaf = this.#descend(key);
    this.#leaf = leaf;
    this.#i = lowerBound(leaf.keys, key);
    if (this.#i >= leaf.keys.length) this.#nextLeaf();
  }

  /** Positions at the last key `<= key`. */
  seekLE(key: Uint8Array): void {
    const leaf = this.#descend(key);
    this.#leaf = leaf;
    this.#i = upperBound(leaf.keys, key) - 1;
    if (this.#i < 0) this.#prevLeaf();
  }

  /** Positions at the last key `< key`. */
  seekLT(key: Uint8Array): void {
    const leaf = this.#descend(key);
    this.#leaf = leaf;
    this.#i = lowerBound(leaf.keys, key) - 1;
    if (this.#i < 0) this.#prevLeaf();
  }

  first(): void {
    this.#path.length = 0;
    this.#childIdx.length = 0;
    this.#descendEdge(this.#root, false);
  }

  last(): void {
    this.#path.length = 0;
    this.#childIdx.length = 0;
    this.#descendEdge(this.#root, true);
  }

  next(): void {
    const leaf = this.#leaf as LeafNode;
    if (++this.#i >= leaf.keys.length) this.#nextLeaf();
  }

  prev(): void {
    if (--this.#i < 0) this.#prevLeaf();
  }
}
