/** Keys and bytes read and written, as StoreHeartbeat and RegionHeartbeat report them. */
export interface Flow {
  keysRead: number;
  bytesRead: number;
  keysWritten: number;
  bytesWritten: number;
}

function emptyFlow(): Flow {
  return { keysRead: 0, bytesRead: 0, keysWritten: 0, bytesWritten: 0 };
}

/**
 * Counts the traffic of served requests, for the store and per region, between two heartbeats
 * (`take*` returns the counts since the previous take and starts a new interval).
 */
export class FlowStats {
  #store = emptyFlow();
  #regions = new Map<bigint, Flow>();

  #region(regionId: bigint): Flow {
    let f = this.#regions.get(regionId);
    if (f === undefined) {
      f = emptyFlow();
      this.#regions.set(regionId, f);
    }
    return f;
  }

  /** Records a read of `keys` keys totalling `bytes` (keys and values). */
  read(regionId: bigint, keys: number, bytes: number): void {
    this.#store.keysRead += keys;
    this.#store.bytesRead += bytes;
    const r = this.#region(regionId);
    r.keysRead += keys;
    r.bytesRead += bytes;
  }

  /** Records a write of `keys` keys totalling `bytes`. */
  written(regionId: bigint, keys: number, bytes: number): void {
    this.#store.keysWritten += keys;
    this.#store.bytesWritten += bytes;
    const r = this.#region(regionId);
    r.keysWritten += keys;
    r.bytesWritten += bytes;
  }

  /** The store's counts since the last call. */
  takeStore(): Flow {
    const f = this.#store;
    this.#store = emptyFlow();
    return f;
  }

  /** A region's counts since the last call for it. */
  takeRegion(regionId: bigint): Flow {
    const f = this.#regions.get(regionId) ?? emptyFlow();
    this.#regions.delete(regionId);
    return f;
  }
}
