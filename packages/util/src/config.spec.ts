import { ConfigError, isErrnoCode } from './errors';
import { cfg, configDefaults, defineConfig, describeConfig, loadConfig, loadConfigFile, toKebabCase } from './config';
import { SimFs } from './testing/sim-fs';

const schema = defineConfig({
  logLevel: cfg.enumOf(['debug', 'info', 'warn', 'error'], { default: 'info' }),
  server: cfg.section({
    addr: cfg.string({ default: '127.0.0.1:20160' }),
    grpcConcurrency: cfg.int({ default: 5, min: 1, max: 64 }),
    enableStatus: cfg.bool({ default: true }),
  }),
  raftstore: cfg.section({
    raftBaseTickInterval: cfg.duration({ default: '1s', min: '1ms' }),
    regionSplitSize: cfg.size({ default: '96MiB', max: '10GiB' }),
    raftEntryMaxSize: cfg.size({ default: '8MiB' }),
    gcRatio: cfg.float({ default: 1.1, min: 1 }),
  }),
  pd: cfg.section({
    endpoints: cfg.stringArray({ default: ['127.0.0.1:2379'] }),
    clusterId: cfg.bigint({ default: 0n, min: 0n }),
  }),
  storage: cfg.section(
    {
      dataDir: cfg.string({ default: './', validate: (v) => (v.length === 0 ? 'must not be empty' : undefined) }),
    },
    { key: 'storage' },
  ),
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('gives defaults with typed values', () => {
    const c = configDefaults(schema);
    expect(c.logLevel).toBe('info');
    expect(c.server.grpcConcurrency).toBe(5);
    expect(c.raftstore.raftBaseTickInterval).toBe(1000);
    expect(c.raftstore.regionSplitSize).toBe(96 * 2 ** 20);
    expect(c.pd.endpoints).toEqual(['127.0.0.1:2379']);
    expect(c.pd.clusterId).toBe(0n);
  });

  it('reads kebab-case TOML keys', () => {
    const c = loadConfig(schema, {
      toml: `
log-level = "debug"
[server]
addr = "0.0.0.0:20161"
grpc-concurrency = 8
enable-status = false
[raftstore]
raft-base-tick-interval = "500ms"
region-split-size = "256MB"
raft-entry-max-size = 1048576
gc-ratio = 2
[pd]
endpoints = ["a:2379", "b:2379"]
cluster-id = 18446744073709551615
`.replace('18446744073709551615', '"18446744073709551615"'),
    });
    expect(c).toEqual({
      logLevel: 'debug',
      server: { addr: '0.0.0.0:20161', grpcConcurrency: 8, enableStatus: false },
      raftstore: { raftBaseTickInterval: 500, regionSplitSize: 256 * 2 ** 20, raftEntryMaxSize: 1048576, gcRatio: 2 },
      pd: { endpoints: ['a:2379', 'b:2379'], clusterId: 18446744073709551615n },
      storage: { dataDir: './' },
    });
  });

  it('names unknown keys with their full path', () => {
    const e = configError(() => loadConfig(schema, { toml: '[raftstore]\nfoo = 1\n' }));
    expect(e.message).toBe('Unknown config key "raftstore.foo"');
    expect(e.keyPath).toBe('raftstore.foo');
    expect(e.code).toBe('KV:Config:Invalid');
    expect(configError(() => loadConfig(schema, { toml: '[nope]\na = 1' })).message).toBe('Unknown config key "nope"');
    // camelCase is not a TOML key
    expect(configError(() => loadConfig(schema, { toml: '[server]\ngrpcConcurrency = 1' })).keyPath).toBe('server.grpcConcurrency');
  });

  it('reports wrong types and ranges, all at once', () => {
    const e = configError(() =>
      loadConfig(schema, {
        toml: `
log-level = "loud"
server = 5
[raftstore]
raft-base-tick-interval = 10
region-split-size = "11GiB"
gc-ratio = 0.5
[pd]
endpoints = "a:1"
cluster-id = -1
`,
      }),
    );
    expect(e.issues.map((i) => i.message)).toEqual([
      'Config key "log-level" must be one of "debug", "info", "warn", "error", got "loud" (string)',
      'Config key "server" must be a table, got 5 (integer)',
      'Config key "raftstore.raft-base-tick-interval" must be a duration like "10s" or "500ms", got 10 (integer)',
      'Config key "raftstore.region-split-size" is 11GiB, above the maximum 10GiB',
      'Config key "raftstore.gc-ratio" is 0.5, below the minimum 1',
      'Config key "pd.endpoints" must be an array of strings, got "a:1" (string)',
      'Config key "pd.cluster-id" is -1, below the minimum 0',
    ]);
    expect(e.keyPath).toBe('log-level');
  });

  it('checks ints, durations, custom validation', () => {
    expect(configError(() => loadConfig(schema, { toml: '[server]\ngrpc-concurrency = 0' })).message).toBe(
      'Config key "server.grpc-concurrency" is 0, below the minimum 1',
    );
    expect(configError(() => loadConfig(schema, { toml: '[server]\ngrpc-concurrency = 1.5' })).message).toBe(
      'Config key "server.grpc-concurrency" must be an integer, got 1.5 (float)',
    );
    expect(configError(() => loadConfig(schema, { toml: '[raftstore]\nraft-base-tick-interval = "0s"' })).message).toBe(
      'Config key "raftstore.raft-base-tick-interval" is 0s, below the minimum 1ms',
    );
    expect(configError(() => loadConfig(schema, { toml: '[storage]\ndata-dir = ""' })).message).toBe('Config key "storage.data-dir" must not be empty');
    expect(configError(() => loadConfig(schema, { toml: '[server]\naddr = 1' })).message).toBe('Config key "server.addr" must be a string, got 1 (integer)');
  });

  it('reports TOML syntax errors with line and column', () => {
    const e = configError(() => loadConfig(schema, { toml: '[server]\naddr = \n' }));
    expect(e.keyPath).toBe('');
    expect(e.message).toMatch(/^Invalid TOML at line 2, column \d+: /);
    expect(e.cause).toBeDefined();
  });

  it('applies overrides over the file, nested or dotted, with string coercion', () => {
    const c = loadConfig(schema, {
      toml: '[server]\ngrpc-concurrency = 8\naddr = "x"',
      overrides: {
        'server.grpc-concurrency': '16',
        server: { enableStatus: 'false' },
        'raftstore.raft-base-tick-interval': 250,
        'log-level': 'warn',
        pd: { 'cluster-id': '42' },
      },
    });
    expect(c.server).toEqual({ addr: 'x', grpcConcurrency: 16, enableStatus: false });
    expect(c.raftstore.raftBaseTickInterval).toBe(250);
    expect(c.logLevel).toBe('warn');
    expect(c.pd.clusterId).toBe(42n);
    expect(configError(() => loadConfig(schema, { overrides: { 'server.bogus': 1 } })).message).toBe('Unknown config key "server.bogus"');
    expect(configError(() => loadConfig(schema, { overrides: { 'server.grpc-concurrency': 'many' } })).keyPath).toBe('server.grpc-concurrency');
    // Without lenient parsing, TOML strings are not numbers.
    expect(configError(() => loadConfig(schema, { toml: '[server]\ngrpc-concurrency = "16"' })).keyPath).toBe('server.grpc-concurrency');
  });

  it('describes the config as TiKV shows it', () => {
    const d = describeConfig(schema, configDefaults(schema));
    expect(d).toEqual({
      'log-level': 'info',
      server: { addr: '127.0.0.1:20160', 'grpc-concurrency': 5, 'enable-status': true },
      raftstore: { 'raft-base-tick-interval': '1s', 'region-split-size': '96MiB', 'raft-entry-max-size': '8MiB', 'gc-ratio': 1.1 },
      pd: { endpoints: ['127.0.0.1:2379'], 'cluster-id': '0' },
      storage: { 'data-dir': './' },
    });
  });

  it('loads a file through a FileSystem', async () => {
    const fs = new SimFs();
    await fs.writeFileAtomic('/tikv.toml', new TextEncoder().encode('[server]\naddr = "1.2.3.4:5"\n'));
    const c = await loadConfigFile(fs, '/tikv.toml', schema, { overrides: { 'server.grpc-concurrency': 2 } });
    expect(c.server.addr).toBe('1.2.3.4:5');
    expect(c.server.grpcConcurrency).toBe(2);
    const e = await loadConfigFile(fs, '/missing.toml', schema).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(isErrnoCode((e as ConfigError).cause, 'ENOENT')).toBe(true);
  });

  it('converts names to kebab-case and validates enum defaults', () => {
    expect(toKebabCase('raftBaseTickInterval')).toBe('raft-base-tick-interval');
    expect(toKebabCase('addr')).toBe('addr');
    expect(() => cfg.enumOf(['a', 'b'], { default: 'c' as 'a' })).toThrow(TypeError);
  });
});
