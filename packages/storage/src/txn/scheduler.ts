import type { Clock } from '@tikv-ts/util';
import type { Engine, EngineContext, EngineSnapshot, Modify } from '../engine';
import { SchedTooBusyError } from '../errors';
import type { ReleasedLock } from '../mvcc/txn';
import { type LatchLock, Latches } from './latches';

/** Priority of a command (`kvrpcpb.CommandPri`: Normal 0, Low 1, High 2). */
export type CommandPriority = 'high' | 'normal' | 'low';

/** What a command's `process` returns: its result and what to write. */
export interface ProcessResult<T> {
  readonly result: T;
  readonly modifies: readonly Modify[];
  /** Locks the write removes (waiters on them are woken after the write). */
  readonly released?: readonly ReleasedLock[];
  /** Called after the write settles (or the command fails): e.g. releases lock-table guards. */
  readonly onFinish?: () => void;
}

/** A write command run by the {@link Scheduler}. */
export interface SchedCommand<T> {
  /** A name for logs and metrics (`"prewrite"`, `"commit"`...). */
  readonly tag: string;
  readonly ctx: EngineContext;
  readonly priority: CommandPriority;
  /** Keys to latch (any stable bytes per key; the encoded user key by convention). */
  readonly latchKeys: readonly Uint8Array[];
  /** Approximate bytes the command writes, for the pending-write threshold. */
  readonly writeBytes: number;
  /** Reads the snapshot and decides (under latches). May throw a typed error. */
  process(snapshot: EngineSnapshot): Promise<ProcessResult<T>>;
}

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  readonly engine: Engine;
  /** Number of latch slots (TiKV `scheduler-concurrency`, default 2048 here). */
  readonly latchSlots?: number;
  /** Commands processed at once (TiKV `scheduler-worker-pool-size` worth of work). Default 64. */
  readonly concurrency?: number;
  /** New writes are refused with `SchedTooBusyError` above this many pending bytes (TiKV default 100 MiB). */
  readonly pendingWriteThresholdBytes?: number;
  /** Called with the locks a write released, after it is applied. */
  readonly onLocksReleased?: (released: readonly ReleasedLock[]) => void;
  readonly clock?: Clock;
}

interface Task {
  readonly cid: number;
  readonly cmd: SchedCommand<unknown>;
  readonly lock: LatchLock;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

const PRIORITIES: readonly CommandPriority[] = ['high', 'normal', 'low'];

/**
 * The transaction scheduler (TiKV `txn::Scheduler`): write commands queue by priority (high
 * before normal before low, FIFO within a priority), then take latches on their keys (sorted,
 * FIFO per slot), take a snapshot, process, write through the {@link Engine}, release latches and
 * answer. At most `concurrency` commands are processed at once; commands waiting for a latch do
 * not count, and commands that got their latches go before new ones. Reads never come here. When pending write bytes exceed the threshold, new commands are
 * refused at once with `SchedTooBusyError` (the server answers ServerIsBusy).
 */
export class Scheduler {
  readonly #engine: Engine;
  readonly #latches: Latches;
  readonly #concurrency: number;
  readonly #threshold: number;
  readonly #onReleased: ((released: readonly ReleasedLock[]) => void) | undefined;
  /** New commands, by priority, not yet at the latches. */
  readonly #queues = new Map<CommandPriority, Task[]>(PRIORITIES.map((p) => [p, []]));
  /** Commands holding all their latches, waiting for a processing slot. */
  readonly #ready = new Map<CommandPriority, Task[]>(PRIORITIES.map((p) => [p, []]));
  readonly #waitingLatch = new Map<number, Task>();
  #nextCid = 1;
  #running = 0;
  #pendingBytes = 0;

  constructor(options: SchedulerOptions) {
    this.#engine = options.engine;
    this.#latches = new Latches(options.latchSlots ?? 2048);
    this.#concurrency = options.concurrency ?? 64;
    this.#threshold = options.pendingWriteThresholdBytes ?? 100 * 1024 * 1024;
    this.#onReleased = options.onLocksReleased;
  }

  /** Bytes of commands accepted and not yet finished. */
  get pendingWriteBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Runs a command and resolves with its result once its write is applied.
   * @throws SchedTooBusyError (synchronously rejected) when too many bytes are pending
   */
  run<T>(cmd: SchedCommand<T>): Promise<T> {
    if (this.#pendingBytes > 0 && this.#pendingBytes + cmd.writeBytes > this.#threshold) {
      return Promise.reject(new SchedTooBusyError(this.#pendingBytes, this.#threshold));
    }
    this.#pendingBytes += cmd.writeBytes;
    return new Promise<T>((resolve, reject) => {
      const cid = this.#nextCid++;
      const task: Task = {
        cid,
        cmd: cmd as SchedCommand<unknown>,
        lock: this.#latches.genLock(cmd.latchKeys),
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      (this.#queues.get(cmd.priority) as Task[]).push(task);
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#running < this.#concurrency) {
      // Commands holding their latches go first; then new commands, by priority.
      let task = this.#dequeue(this.#ready);
      if (task === undefined) {
        task = this.#dequeue(this.#queues);
        if (task === undefined) return;
        if (!this.#latches.acquire(task.lock, task.cid)) {
          // Waiting for a latch does not take a processing slot.
          this.#waitingLatch.set(task.cid, task);
          continue;
        }
      }
      this.#execute(task);
    }
  }

  #dequeue(queues: Map<CommandPriority, Task[]>): Task | undefined {
    for (const p of PRIORITIES) {
      const q = queues.get(p) as Task[];
      if (q.length > 0) return q.shift();
    }
    return undefined;
  }

  #execute(task: Task): void {
    this.#running++;
    void this.#process(task);
  }

  async #process(task: Task): Promise<void> {
    const { cmd } = task;
    let onFinish: (() => void) | undefined;
    let released: readonly ReleasedLock[] = [];
    try {
      const snap = await this.#engine.snapshot(cmd.ctx);
      let pr: ProcessResult<unknown>;
      try {
        pr = await cmd.process(snap);
      } finally {
        snap.close();
      }
      onFinish = pr.onFinish;
      if (pr.modifies.length > 0) await this.#engine.write(cmd.ctx, pr.modifies);
      released = pr.released ?? [];
      task.resolve(pr.result);
    } catch (e: unknown) {
      task.reject(e);
    } finally {
      onFinish?.();
      this.#finish(task);
      if (released.length > 0) this.#onReleased?.(released);
    }
  }

  #finish(task: Task): void {
    this.#pendingBytes -= task.cmd.writeBytes;
    this.#running--;
    for (const cid of this.#latches.release(task.lock, task.cid)) {
      const next = this.#waitingLatch.get(cid);
      if (next !== undefined && this.#latches.acquire(next.lock, next.cid)) {
        this.#waitingLatch.delete(cid);
        (this.#ready.get(next.cmd.priority) as Task[]).push(next);
      }
    }
    this.#pump();
  }
}
