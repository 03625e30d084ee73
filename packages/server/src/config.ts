import { cfg, defineConfig, logConfigFields, type ConfigOf } from '@tikv-ts/util';

/**
 * tikv-server's configuration schema: TiKV's section and key names (kebab-case in TOML), TiKV's
 * defaults. Only keys this implementation honours are listed; any other key is refused when
 * loading (so a typo is an error, not a silent default).
 */
export const tikvConfigSchema = defineConfig({
  log: cfg.section(logConfigFields(), { doc: 'Logging' }),
  server: cfg.section(
    {
      addr: cfg.string({ default: '127.0.0.1:20160', doc: 'gRPC listen address' }),
      advertiseAddr: cfg.string({ default: '', doc: 'gRPC address announced to PD and clients (default: addr)' }),
      statusAddr: cfg.string({ default: '127.0.0.1:20180', doc: 'Status HTTP listen address (empty: no status server)' }),
      advertiseStatusAddr: cfg.string({ default: '', doc: 'Status address announced to PD (default: status-addr)' }),
      grpcCompressionType: cfg.enumOf(['none', 'deflate', 'gzip'], { default: 'none', doc: 'Compression of gRPC responses' }),
      maxGrpcSendMsgLen: cfg.size({ default: '10MiB', min: 1024, doc: 'Largest gRPC message sent' }),
      maxGrpcRecvMsgLen: cfg.size({ default: '64MiB', min: 1024, doc: 'Largest gRPC message accepted (larger: RESOURCE_EXHAUSTED)' }),
      gracefulShutdownTimeout: cfg.duration({ default: '10s', doc: 'Longest wait for in-flight requests at shutdown' }),
    },
    { doc: 'gRPC and status servers' },
  ),
  storage: cfg.section(
    {
      dataDir: cfg.string({ default: './', doc: 'Data directory' }),
      apiVersion: cfg.int({ default: 1, min: 1, max: 1, doc: 'API version of the storage: 1 (API V2 is not supported)' }),
      enableTtl: cfg.bool({ default: false, doc: 'Raw values carry TTLs (API V1TTL)' }),
      maxKeySize: cfg.int({ default: 8192, min: 1, doc: 'Longest key accepted by raw writes, in bytes' }),
      schedulerPendingWriteThreshold: cfg.size({ default: '100MiB', doc: 'Pending write bytes above which writes get ServerIsBusy' }),
    },
    { doc: 'Storage' },
  ),
  raftstore: cfg.section(
    {
      raftEntryMaxSize: cfg.size({ default: '8MiB', min: 1, doc: 'Largest write of one request (larger: raft_entry_too_large)' }),
      pdHeartbeatTickInterval: cfg.duration({ default: '60s', min: 10, doc: 'Interval of region heartbeats' }),
      pdStoreHeartbeatTickInterval: cfg.duration({ default: '10s', min: 10, doc: 'Interval of store heartbeats' }),
      capacity: cfg.size({ default: 0, doc: 'Store capacity reported to PD (0: the disk size)' }),
    },
    { doc: 'Raftstore' },
  ),
  pd: cfg.section({ endpoints: cfg.stringArray({ default: ['127.0.0.1:2379'], doc: 'PD endpoints' }) }, { doc: 'Placement Driver' }),
  pessimisticTxn: cfg.section(
    {
      waitForLockTimeout: cfg.duration({ default: '1s', doc: 'Default wait of a pessimistic lock request' }),
      wakeUpDelayDuration: cfg.duration({ default: '20ms', doc: 'Delay before waking up other waiters' }),
    },
    { doc: 'Pessimistic transactions' },
  ),
  rocksdb: cfg.section(
    {
      maxBackgroundJobs: cfg.int({ default: 2, min: 1, doc: 'Background flush and compaction threads' }),
      maxOpenFiles: cfg.int({ default: 4096, min: -1, doc: 'Open SST files kept at most (-1: unlimited)' }),
    },
    { doc: 'RocksDB of the KV engine' },
  ),
});

/** A loaded tikv-server configuration. */
export type TikvConfig = ConfigOf<(typeof tikvConfigSchema)['fields']>;

/**
 * The pid lock file in a store's data directory (`acquirePidLock` of `@tikv-ts/util/node`):
 * taken by tikv-server for its lifetime and by tikv-ctl's local mode while it works.
 */
export const DATA_DIR_LOCK_FILE = 'tikv.lock';
