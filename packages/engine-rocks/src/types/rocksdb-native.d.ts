// The part of rocksdb-native 3.18.1 (CommonJS, no bundled types) that engine-rocks uses.
// Pinned to that exact version in package.json: `RocksBatch._db` below is not public API (see
// rocks-engine.ts, where it is used to put several column families into one atomic write).
declare module 'rocksdb-native' {
  namespace RocksDB {
    interface Entry {
      key: Buffer;
      value: Buffer;
    }
    interface IteratorRange {
      gt?: Uint8Array;
      gte?: Uint8Array;
      lt?: Uint8Array;
      lte?: Uint8Array;
    }
    interface IteratorOptions {
      reverse?: boolean;
      values?: boolean;
      limit?: number;
      capacity?: number;
    }
    /** A streamx Readable of entries. */
    interface NativeIterator {
      read(): Entry | null;
      destroy(err?: Error): void;
      readonly destroyed: boolean;
      on(event: 'readable' | 'end' | 'close', fn: () => void): unknown;
      on(event: 'error', fn: (err: unknown) => void): unknown;
      off(event: 'readable' | 'end' | 'close', fn: () => void): unknown;
      off(event: 'error', fn: (err: unknown) => void): unknown;
      [Symbol.asyncIterator](): AsyncIterator<Entry>;
    }
    interface ReadBatch {
      get(key: Uint8Array): Promise<Buffer | null>;
      tryFlush(): void;
      flush(): Promise<void>;
      destroy(): void;
    }
    interface WriteBatch {
      tryPut(key: Uint8Array, value: Uint8Array): void;
      tryDelete(key: Uint8Array): void;
      tryDeleteRange(start: Uint8Array, end: Uint8Array): void;
      flush(): Promise<void>;
      destroy(): void;
      /** Internal: the session whose column family the next operation targets. */
      _db: RocksDB;
    }
    interface WalFileInfo {
      path: string;
      number: number;
      type: number;
      startSequence: number;
      size: number;
    }
    class BloomFilterPolicy {
      constructor(bitsPerKey: number);
    }
    class ColumnFamily {
      constructor(name: string, options?: ColumnFamilyOptions);
      readonly name: string;
    }
    interface ColumnFamilyOptions {
      tableBlockSize?: number;
      tableCacheIndexAndFilterBlocks?: boolean;
      blockCache?: boolean;
      filterPolicy?: BloomFilterPolicy | null;
      maxWriteBufferNumber?: number;
      writeBufferSize?: number;
      optimizeFiltersForHits?: boolean;
    }
    interface OpenOptions extends ColumnFamilyOptions {
      columnFamily?: ColumnFamily | string;
      columnFamilies?: (ColumnFamily | string)[];
      createIfMissing?: boolean;
      createMissingColumnFamilies?: boolean;
      maxBackgroundJobs?: number;
      bytesPerSync?: number;
      maxOpenFiles?: number;
      avoidFlushDuringShutdown?: boolean;
    }
  }
  class RocksDB {
    constructor(path: string, options?: RocksDB.OpenOptions);
    readonly opened: boolean;
    readonly closed: boolean;
    ready(): Promise<void>;
    close(options?: { force?: boolean }): Promise<void>;
    session(options?: { snapshot?: boolean }): RocksDB;
    columnFamily(name: string): RocksDB;
    snapshot(): RocksDB;
    iterator(range: RocksDB.IteratorRange, options?: RocksDB.IteratorOptions): RocksDB.NativeIterator;
    read(options?: { capacity?: number; autoDestroy?: boolean; fillCache?: boolean }): RocksDB.ReadBatch;
    write(options?: { capacity?: number; autoDestroy?: boolean }): RocksDB.WriteBatch;
    get(key: Uint8Array): Promise<Buffer | null>;
    flush(): Promise<void>;
    compactRange(start: Uint8Array | null, end: Uint8Array | null, options?: object): Promise<void>;
    approximateSize(
      start: Uint8Array,
      end: Uint8Array,
      options?: { includeMemtables?: boolean; includeFiles?: boolean },
    ): Promise<number>;
    getProperty(name: string): Promise<string | number | null>;
    currentWalFile(): Promise<RocksDB.WalFileInfo>;
    /** Internal state shared by all sessions of one database. */
    readonly _state: {
      compactRange(db: RocksDB, start: Uint8Array | null, end: Uint8Array | null, options: object): Promise<void>;
    };
  }
  export = RocksDB;
}
