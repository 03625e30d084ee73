import type { Counter, Gauge, Histogram, MetricsRegistry } from '@tikv-ts/util';

/** The metrics of a tikv-server, named as TiKV names them. */
export interface ServerMetrics {
  /** `tikv_grpc_msg_duration_seconds{type}`: handling time of each client request. */
  readonly grpcMsgDuration: Histogram<'type'>;
  /** `tikv_grpc_msg_fail_total{type}`: requests answered with an error. */
  readonly grpcMsgFail: Counter<'type'>;
  /** `tikv_server_grpc_req_batch_size`: requests per BatchCommands message. */
  readonly grpcReqBatchSize: Histogram;
  /** `tikv_server_grpc_resp_batch_size`: responses per BatchCommands message. */
  readonly grpcRespBatchSize: Histogram;
  /** `tikv_scheduler_command_duration_seconds{type}`: transactional write commands. */
  readonly schedulerCommandDuration: Histogram<'type'>;
  /** `tikv_scheduler_too_busy_total{type}`: commands refused with ServerIsBusy. */
  readonly schedulerTooBusy: Counter<'type'>;
  /** `tikv_scheduler_writing_bytes`: bytes of writes pending in the scheduler. */
  readonly schedulerWritingBytes: Gauge;
  /** `tikv_storage_engine_async_request_duration_seconds{type}`: engine snapshot and write. */
  readonly engineAsyncRequestDuration: Histogram<'type'>;
  /** `tikv_engine_size_bytes{db,type}`: approximate bytes per column family. */
  readonly engineSize: Gauge<'db' | 'type'>;
  /** `tikv_engine_estimate_num_keys{db,cf}`: approximate keys per column family. */
  readonly engineNumKeys: Gauge<'db' | 'cf'>;
  /** `tikv_store_size_bytes{type}`: capacity, available and used bytes of the store. */
  readonly storeSize: Gauge<'type'>;
  /** `tikv_raftstore_region_count{type}`: regions and leaders. */
  readonly regionCount: Gauge<'type'>;
}

/** Registers (or finds) the server metrics in `registry`. */
export function createServerMetrics(registry: MetricsRegistry): ServerMetrics {
  return {
    grpcMsgDuration: registry.histogram('tikv_grpc_msg_duration_seconds', 'Bucketed histogram of grpc server messages', ['type']),
    grpcMsgFail: registry.counter('tikv_grpc_msg_fail_total', 'Total number of handle grpc message failure', ['type']),
    grpcReqBatchSize: registry.histogram('tikv_server_grpc_req_batch_size', 'Requests per BatchCommands message'),
    grpcRespBatchSize: registry.histogram('tikv_server_grpc_resp_batch_size', 'Responses per BatchCommands message'),
    schedulerCommandDuration: registry.histogram('tikv_scheduler_command_duration_seconds', 'Duration of scheduler commands', ['type']),
    schedulerTooBusy: registry.counter('tikv_scheduler_too_busy_total', 'Commands refused because the scheduler is busy', ['type']),
    schedulerWritingBytes: registry.gauge('tikv_scheduler_writing_bytes', 'Bytes of writes pending in the scheduler'),
    engineAsyncRequestDuration: registry.histogram(
      'tikv_storage_engine_async_request_duration_seconds',
      'Duration of engine snapshot and write requests',
      ['type'],
    ),
    engineSize: registry.gauge('tikv_engine_size_bytes', 'Approximate size of each column family', ['db', 'type']),
    engineNumKeys: registry.gauge('tikv_engine_estimate_num_keys', 'Approximate number of keys of each column family', ['db', 'cf']),
    storeSize: registry.gauge('tikv_store_size_bytes', 'Size of the store: capacity, available, used', ['type']),
    regionCount: registry.gauge('tikv_raftstore_region_count', 'Number of regions and leaders on the store', ['type']),
  };
}
