import { UsageError, parseCommandLine } from './args';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const remote = { kind: 'remote', host: '127.0.0.1:20160' } as const;

describe('parseCommandLine', () => {
  it('parses modes and subcommands in TiKV form', () => {
    expect(parseCommandLine(['--host', '127.0.0.1:20160', 'store'])).toEqual({
      kind: 'store',
      target: remote,
    });
    expect(parseCommandLine(['--data-dir', '/d', 'cluster'])).toEqual({
      kind: 'cluster',
      target: { kind: 'local', dataDir: '/d' },
    });
    expect(parseCommandLine(['--pd', '127.0.0.1:2379', 'cluster'])).toEqual({
      kind: 'pd-cluster',
      pd: '127.0.0.1:2379',
    });
    expect(parseCommandLine(['--host=127.0.0.1:20160', 'raft', 'region', '-r', '2'])).toEqual({
      kind: 'region',
      target: remote,
      regionId: 2n,
    });
    expect(
      parseCommandLine(['region', '--host', '127.0.0.1:20160', '--region', '18446744073709551615']),
    ).toMatchObject({ regionId: 18446744073709551615n });
    expect(parseCommandLine(['--host', '127.0.0.1:20160', 'all-regions'])).toEqual({
      kind: 'regions',
      target: remote,
    });
    expect(
      parseCommandLine(['--host', '127.0.0.1:20160', 'size', '-r', '4', '-c', 'write,lock']),
    ).toEqual({ kind: 'size', target: remote, regionId: 4n, cfs: ['write', 'lock'] });
  });

  it('parses keys escaped, or hex with 0x / --hex', () => {
    expect(parseCommandLine(['--host', 'h:1', 'mvcc', '-k', 'zk\\x001']).kind).toBe('mvcc');
    expect(parseCommandLine(['--host', 'h:1', 'mvcc', '-k', 'zk\\x001'])).toMatchObject({
      key: Uint8Array.of(0x7a, 0x6b, 0x00, 0x31),
      showCf: ['default', 'write', 'lock'],
    });
    expect(parseCommandLine(['--host', 'h:1', 'print', '-k', '0x7a61'])).toMatchObject({
      key: enc('za'),
      cf: 'default',
      db: 'kv',
    });
    expect(
      parseCommandLine(['--hex', '--host', 'h:1', 'print', '-k', '7a61', '-d', 'raft']),
    ).toMatchObject({ key: enc('za'), cf: 'raft', db: 'raft' });
    expect(
      parseCommandLine([
        '--host',
        'h:1',
        'scan',
        '--from',
        'z',
        '--limit',
        '5',
        '--show-cf',
        'lock',
      ]),
    ).toMatchObject({ from: enc('z'), to: new Uint8Array(0), limit: 5n, showCf: ['lock'] });
    expect(parseCommandLine(['--data-dir', 'd', 'raw-scan'])).toMatchObject({
      kind: 'raw-scan',
      limit: 30,
      cf: 'default',
      from: new Uint8Array(0),
    });
    expect(
      parseCommandLine(['--data-dir', 'd', 'compact', '-c', 'write', '--from', 'za', '--to', 'zb']),
    ).toMatchObject({ kind: 'compact', cf: 'write', from: enc('za'), to: enc('zb') });
  });

  it('parses failpoint subcommands in both spellings', () => {
    expect(parseCommandLine(['--host', 'h:1', 'failpoint', 'inject', 'a::b', 'return(1)'])).toEqual(
      {
        kind: 'failpoint-inject',
        target: { kind: 'remote', host: 'h:1' },
        points: [{ name: 'a::b', actions: 'return(1)' }],
      },
    );
    expect(parseCommandLine(['--host', 'h:1', 'fail', 'inject', 'a=off', 'b=pause'])).toMatchObject(
      {
        points: [
          { name: 'a', actions: 'off' },
          { name: 'b', actions: 'pause' },
        ],
      },
    );
    expect(parseCommandLine(['--host', 'h:1', 'fail', 'recover', 'a', 'b'])).toMatchObject({
      kind: 'failpoint-recover',
      names: ['a', 'b'],
    });
    expect(parseCommandLine(['--host', 'h:1', 'failpoint', 'list'])).toMatchObject({
      kind: 'failpoint-list',
    });
  });

  it('parses conversions and help without a store', () => {
    expect(parseCommandLine(['--to-hex', 'zt\\x80'])).toEqual({
      kind: 'to-hex',
      bytes: Uint8Array.of(0x7a, 0x74, 0x80),
    });
    expect(parseCommandLine(['--to-escaped', '7A7480'])).toEqual({
      kind: 'to-escaped',
      bytes: Uint8Array.of(0x7a, 0x74, 0x80),
    });
    expect(parseCommandLine(['--encode', 'k'])).toEqual({ kind: 'encode', bytes: enc('k') });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['store'], /needs --host <addr>/],
    [['--host', 'a:1', '--data-dir', 'd', 'store'], /not both/],
    [['--host', 'a:1', 'region'], /needs -r\/--region/],
    [['--host', 'a:1', 'region', '-r', 'x'], /Invalid region id "x"/],
    [['--host', 'a:1', 'region', '-r', '0'], /Invalid region id 0/],
    [['--host', 'a:1', 'size', '-r', '1', '-c', 'raft'], /Unknown column family "raft"/],
    [['--host', 'a:1', 'scan', '--from', 'z'], /--to <key> or --limit/],
    [['--host', 'a:1', 'scan', '--from', 'z', '--limit', '-1'], /./],
    [['--host', 'a:1', 'mvcc'], /Missing --key/],
    [['--host', 'a:1', 'print', '-k', 'z', '-d', 'x'], /Unknown --db/],
    [['--host', 'a:1', 'mvcc', '-k', 'z', '--show-cf', 'raft'], /Unknown --show-cf/],
    [['--host', 'a:1', 'failpoint', 'zap'], /Unknown failpoint subcommand/],
    [['--host', 'a:1', 'failpoint', 'inject', 'novalue'], /expected <name>=<actions>/],
    [['--host', 'a:1', 'nope'], /Unknown command "nope"/],
    [['--bogus'], /bogus/],
    [[], /Missing command/],
    [['--to-hex', 'a', '--encode', 'b'], /Give one of/],
  ])('rejects %j', (argv, re) => {
    expect(() => parseCommandLine(argv)).toThrow(re);
  });

  it('reports bad flags as UsageError', () => {
    expect(() => parseCommandLine(['--bogus'])).toThrow(UsageError);
  });
});
