import { flagOverrides, parseFlags } from './flags';
import { resolveConfig } from './main';

describe('tikv-server flags and config', () => {
  it('parses TiKV flags in both forms and short aliases', () => {
    const f = parseFlags(['--addr', '0.0.0.0:20160', '--status-addr=127.0.0.1:20180', '--pd', 'a:2379, b:2379', '-s', '/data', '-L', 'debug', '--capacity', '10GiB']);
    expect(f).toMatchObject({ addr: '0.0.0.0:20160', statusAddr: '127.0.0.1:20180', pd: 'a:2379, b:2379', dataDir: '/data', logLevel: 'debug', capacity: '10GiB' });
    expect(flagOverrides(f)['pd.endpoints']).toEqual(['a:2379', 'b:2379']);
    expect(() => parseFlags(['--nope'])).toThrow(/nope/);
  });

  it('applies defaults, then the TOML file, then the flags', () => {
    const toml = `
[server]
addr = "127.0.0.1:1111"
status-addr = "127.0.0.1:2222"
[storage]
data-dir = "/from-file"
[raftstore]
raft-entry-max-size = "1MiB"
`;
    const c = resolveConfig(parseFlags(['--config', 'x.toml', '--addr', '127.0.0.1:3333', '--capacity', '1GiB']), () => toml);
    expect(c.server.addr).toBe('127.0.0.1:3333');
    expect(c.server.statusAddr).toBe('127.0.0.1:2222');
    expect(c.storage.dataDir).toBe('/from-file');
    expect(c.raftstore.raftEntryMaxSize).toBe(1024 * 1024);
    expect(c.raftstore.capacity).toBe(1024 * 1024 * 1024);
    expect(c.raftstore.pdStoreHeartbeatTickInterval).toBe(10_000);
  });

  it('refuses unknown keys and bad values, naming them', () => {
    expect(() => resolveConfig(parseFlags(['--config', 'x.toml']), () => '[server]\nadr = "x"\n')).toThrow(/server\.adr/);
    expect(() => resolveConfig(parseFlags(['--config', 'x.toml']), () => '[storage]\napi-version = 2\n')).toThrow(/api-version/);
  });
});
