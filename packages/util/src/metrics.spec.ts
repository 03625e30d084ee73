import { MetricNameError, MetricsRegistry, checkMetricName, exponentialBuckets } from './metrics';

describe('MetricsRegistry', () => {
  it('creates metrics and exposes them in text format', async () => {
    const m = new MetricsRegistry();
    const c = m.counter('tikv_grpc_msg_total', 'gRPC messages', ['type']);
    c.inc({ type: 'kv_get' });
    c.inc({ type: 'kv_get' }, 2);
    m.gauge('tikv_raftstore_region_count', 'Regions').set(5);
    const h = m.histogram('tikv_grpc_msg_duration_seconds', 'gRPC latency', ['type'], [0.001, 0.01, 0.1]);
    h.observe({ type: 'kv_get' }, 0.005);
    const text = await m.exposition();
    expect(text).toContain('# HELP tikv_grpc_msg_total gRPC messages');
    expect(text).toContain('# TYPE tikv_grpc_msg_total counter');
    expect(text).toContain('tikv_grpc_msg_total{type="kv_get"} 3');
    expect(text).toContain('tikv_raftstore_region_count 5');
    expect(text).toContain('tikv_grpc_msg_duration_seconds_bucket{le="0.001",type="kv_get"} 0');
    expect(text).toContain('tikv_grpc_msg_duration_seconds_bucket{le="0.01",type="kv_get"} 1');
    expect(text).toContain('tikv_grpc_msg_duration_seconds_count{type="kv_get"} 1');
    expect(m.contentType).toMatch(/^text\/plain/);
    expect(m.names()).toEqual(['tikv_grpc_msg_duration_seconds', 'tikv_grpc_msg_total', 'tikv_raftstore_region_count']);
  });

  it('returns the same metric when asked twice and refuses conflicting definitions', () => {
    const m = new MetricsRegistry();
    const a = m.counter('tikv_x_y_total', 'h', ['a']);
    expect(m.counter('tikv_x_y_total', 'h', ['a'])).toBe(a);
    expect(() => m.counter('tikv_x_y_total', 'h', ['b'])).toThrow(MetricNameError);
    expect(() => m.gauge('tikv_x_y_total', 'h', ['a'])).toThrow(/already registered as a counter/);
    const h = m.histogram('tikv_x_size_bytes', 'h', [], [1, 2]);
    expect(m.histogram('tikv_x_size_bytes', 'h')).toBe(h);
    expect(() => m.histogram('tikv_x_size_bytes', 'h', [], [1, 3])).toThrow(MetricNameError);
  });

  it('keeps registries separate (no global default)', async () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    a.counter('tikv_a_b_total', 'h').inc();
    b.counter('tikv_a_b_total', 'h').inc(5);
    expect(await a.exposition()).toContain('tikv_a_b_total 1');
    expect(await b.exposition()).toContain('tikv_a_b_total 5');
    a.resetAll();
    expect(await a.exposition()).toContain('tikv_a_b_total 0');
  });

  it('applies default labels and default buckets', async () => {
    const m = new MetricsRegistry({ defaultLabels: { instance: 'store-1' } });
    m.gauge('pd_cluster_store_count', 'stores').set(3);
    m.histogram('tikv_scheduler_latch_wait_duration_seconds', 'wait').observe(0.0004);
    m.histogram('tikv_raftstore_entry_count_per_ready_keys', 'entries').observe(3);
    const text = await m.exposition();
    expect(text).toContain('pd_cluster_store_count{instance="store-1"} 3');
    expect(text).toContain('tikv_scheduler_latch_wait_duration_seconds_bucket{le="0.0005",instance="store-1"} 1');
    expect(text).toContain('tikv_raftstore_entry_count_per_ready_keys_bucket{le="4",instance="store-1"} 1');
  });

  it.each([
    ['TiKV_grpc_total', 'counter', /must match/],
    ['tikv-grpc_total', 'counter', /must match/],
    ['grpc_msg_total', 'counter', /must start with one of tikv_, pd_/],
    ['tikv_total', 'counter', /<subsystem>_<name>/],
    ['tikv__x_total', 'counter', /no empty segments/],
    ['tikv_grpc_msg', 'counter', /must end in _total/],
    ['tikv_grpc_msg_total', 'gauge', /Only counters end in _total/],
    ['tikv_grpc_duration_ms', 'histogram', /base units/],
    ['tikv_engine_size_mb', 'gauge', /base units/],
    ['tikv_grpc_msg_count', 'histogram', /reserved/],
  ] as const)('rejects %s as a %s', (name, kind, message) => {
    expect(() => checkMetricName(name, kind)).toThrow(message);
  });

  it('validates labels, help and buckets', () => {
    const m = new MetricsRegistry();
    expect(() => m.counter('tikv_a_b_total', 'h', ['Bad'])).toThrow(MetricNameError);
    expect(() => m.counter('tikv_a_b_total', 'h', ['__x'])).toThrow(MetricNameError);
    expect(() => m.counter('tikv_a_b_total', 'h', ['a', 'a'])).toThrow(/repeats label/);
    expect(() => m.histogram('tikv_a_b_seconds', 'h', ['le'])).toThrow(/reserved label le/);
    expect(() => m.gauge('tikv_a_b', ' ')).toThrow(/help/);
    expect(() => m.histogram('tikv_a_c_seconds', 'h', [], [1, 1])).toThrow(/strictly increasing/);
    expect(() => new MetricsRegistry({ defaultLabels: { 'bad-label': 'x' } })).toThrow(MetricNameError);
    expect(new MetricsRegistry({ allowedPrefixes: ['node_'] }).gauge('node_x_y', 'h')).toBeDefined();
  });

  it('computes exponential buckets', () => {
    expect(exponentialBuckets(1, 2, 4)).toEqual([1, 2, 4, 8]);
    expect(() => exponentialBuckets(0, 2, 4)).toThrow(RangeError);
    expect(() => exponentialBuckets(1, 1, 4)).toThrow(RangeError);
  });
});
