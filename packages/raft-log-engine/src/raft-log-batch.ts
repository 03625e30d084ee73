import type { RaftEntry, RaftLocalState, RaftLogBatch } from '@tikv-ts/engine-traits';
import { eraftpb } from '@tikv-ts/proto';
import { type PendingOp, STATE_OP_BYTES, cloneState } from './format';

/**
 * The {@link RaftLogBatch} of {@link RaftLogEngine}. Entries are encoded (protobuf) when appended,
 * so {@link persistSizeBytes} is exact for entries and the write path only copies bytes.
 */
export class RaftLogEngineBatch implements RaftLogBatch {
  #ops: PendingOp[] = [];
  #sizeBytes = 0;

  /** @inheritDoc */
  append(regionId: bigint, entries: readonly RaftEntry[]): void {
    if (entries.length === 0) return;
    const first = entries[0] as RaftEntry;
    const encoded: Uint8Array[] = [];
    let expected = first.index;
    for (const e of entries) {
      if (e.index !== expected) {
        throw new RangeError(`Entries appended to region ${regionId} are not consecutive: ${e.index} follows ${expected - 1n}`);
      }
      expected++;
      const bytes = eraftpb.Entry.encode(e).finish();
      encoded.push(bytes);
      this.#sizeBytes += bytes.length + 12;
    }
    this.#ops.push({ kind: 'append', regionId, firstIndex: first.index, entries: [...entries], encoded });
    this.#sizeBytes += 24;
  }

  /** @inheritDoc */
  cutLogs(regionId: bigint, fromIndex: bigint): void {
    this.#ops.push({ kind: 'cut', regionId, fromIndex });
    this.#sizeBytes += 20;
  }

  /** @inheritDoc */
  compactTo(regionId: bigint, index: bigint): void {
    this.#ops.push({ kind: 'compact', regionId, index });
    this.#sizeBytes += 20;
  }

  /** @inheritDoc */
  putRaftState(regionId: bigint, state: RaftLocalState): void {
    this.#ops.push({ kind: 'putState', regionId, state: cloneState(state) });
    this.#sizeBytes += STATE_OP_BYTES;
  }

  /** @inheritDoc */
  removeRaftState(regionId: bigint): void {
    this.#ops.push({ kind: 'removeState', regionId });
    this.#sizeBytes += 12;
  }

  /** @inheritDoc */
  isEmpty(): boolean {
    return this.#ops.length === 0;
  }

  /** @inheritDoc */
  persistSizeBytes(): number {
    return this.#sizeBytes;
  }

  /** @inheritDoc */
  clear(): void {
    this.#ops = [];
    this.#sizeBytes = 0;
  }

  /** The changes in call order (package-internal: read by the engine's write path). */
  pendingOps(): readonly PendingOp[] {
    return this.#ops;
  }
}
