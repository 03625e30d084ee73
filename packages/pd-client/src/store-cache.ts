import { metapb } from '@tikv-ts/proto';
import type { PdCallOptions, PdClient } from './pd-client';

/** The part of {@link PdClient} a {@link StoreCache} loads through. */
export type StoreSource = Pick<PdClient, 'getStore' | 'getAllStores'>;

/**
 * Client-side cache of stores (`metapb.Store`: address, peer/status addresses, labels, state) by
 * id. A miss loads the store with `GetStore`; `refreshAll` reloads everything with
 * `GetAllStores`. Loads of the same id that overlap share one RPC. Tombstone stores are never
 * cached (PD refuses them with `PdStoreTombstoneError`, which propagates). Invalidate a store
 * when sending to it fails or TiKV answers StoreNotMatch, so the next lookup asks PD again
 * (its address may have changed).
 */
export class StoreCache {
  readonly #pd: StoreSource;
  readonly #stores = new Map<bigint, metapb.Store>();
  readonly #loading = new Map<bigint, Promise<metapb.Store>>();
  #loads = 0;

  constructor(pd: StoreSource) {
    this.#pd = pd;
  }

  /** Loads from PD so far (misses and refreshes). */
  get loads(): number {
    return this.#loads;
  }

  /**
   * The store with this id.
   * @throws PdStoreTombstoneError when it was removed; other PD client errors as they come
   */
  getStore(storeId: bigint, options: PdCallOptions = {}): Promise<metapb.Store> {
    const hit = this.#stores.get(storeId);
    if (hit !== undefined) return Promise.resolve(hit);
    const pending = this.#loading.get(storeId);
    if (pending !== undefined) return pending;
    this.#loads++;
    const load = this.#pd.getStore(storeId, options).then(
      (store) => {
        this.#loading.delete(storeId);
        if (store.state !== metapb.StoreState.Tombstone) this.#stores.set(storeId, store);
        return store;
      },
      (e: unknown) => {
        this.#loading.delete(storeId);
        throw e;
      },
    );
    this.#loading.set(storeId, load);
    return load;
  }

  /** The client (gRPC) address of the store, `host:port`. */
  async getStoreAddress(storeId: bigint, options: PdCallOptions = {}): Promise<string> {
    return (await this.getStore(storeId, options)).address;
  }

  /** Reloads every store that is not a tombstone (drops the others). */
  async refreshAll(options: PdCallOptions = {}): Promise<metapb.Store[]> {
    this.#loads++;
    const stores = await this.#pd.getAllStores({ ...options, excludeTombstones: true });
    this.#stores.clear();
    for (const s of stores) if (s.state !== metapb.StoreState.Tombstone) this.#stores.set(s.id, s);
    return [...this.#stores.values()];
  }

  /** The cached store, without loading. */
  findStore(storeId: bigint): metapb.Store | undefined {
    return this.#stores.get(storeId);
  }

  /** Forgets one store (send failure, StoreNotMatch). */
  invalidate(storeId: bigint): void {
    this.#stores.delete(storeId);
  }

  /** Forgets everything. */
  clear(): void {
    this.#stores.clear();
  }
}
