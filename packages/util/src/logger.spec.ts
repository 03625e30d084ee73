import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createNoopLogger, formatLogTime, parseLogLevel, renderValue } from './logger';
import { ManualClock } from './testing/manual-clock';
import { MemoryLogSink } from './testing/memory-log-sink';
import { TikvError } from './errors';
import { NodeFileSystem } from './node/node-file-system';
import { SimFs } from './testing/sim-fs';

// 2026-11-28T01:02:03.456Z
const T0 = Date.UTC(2026, 10, 28, 1, 2, 3, 456);

function setup(format: 'text' | 'json' = 'text') {
  const clock = new ManualClock({ startWallMs: T0 });
  const sink = new MemoryLogSink();
  const logger = createLogger({ clock, sink, format, component: 'server' });
  return { clock, sink, logger };
}

class DemoError extends TikvError {
  readonly code = 'KV:Demo:Broken';
}

describe('logger text format', () => {
  it('writes TiKV unified log lines exactly', () => {
    const { sink, logger } = setup();
    logger.info('started', { region_id: 1n, peer: 14, ok: true });
    logger.warn('Slow query', { sql: 'SELECT *\nFROM t WHERE id="a"', key: Uint8Array.of(0x74, 0x80, 0x00, 0xff) });
    expect(sink.lines()).toEqual([
      '[2026/11/28 01:02:03.456 +00:00] [INFO] [server] [started] [region_id=1] [peer=14] [ok=true]',
      '[2026/11/28 01:02:03.456 +00:00] [WARN] [server] ["Slow query"] [sql="SELECT *\\nFROM t WHERE id=\\"a\\""] [key=748000FF]',
    ]);
  });

  it('quotes keys and values with spaces, =, brackets and empty strings', () => {
    const { sink, logger } = setup();
    logger.error('x', { 'user name': 'foo', v: 'a=b', w: '[x]', e: '', n: null, u: undefined, big: 18446744073709551615n });
    expect(sink.lines()[0]).toBe(
      '[2026/11/28 01:02:03.456 +00:00] [ERROR] [server] [x] ["user name"=foo] [v="a=b"] [w="[x]"] [e=""] [n=null] [big=18446744073709551615]',
    );
  });

  it('renders errors, objects and nested bigints', () => {
    expect(renderValue(new DemoError('it broke'))).toBe('DemoError (KV:Demo:Broken): it broke');
    expect(renderValue(new RangeError('bad'))).toBe('RangeError: bad');
    expect(renderValue({ id: 5n, key: Uint8Array.of(1) })).toBe('{"id":"5","key":"01"}');
  });

  it('takes timestamps from the injected clock and honours the UTC offset', () => {
    const { clock, sink, logger } = setup();
    clock.advance(1000);
    logger.info('tick');
    expect(sink.lines()[0]?.startsWith('[2026/11/28 01:02:04.456 +00:00]')).toBe(true);
    expect(formatLogTime(T0, 8 * 60)).toBe('2026/11/28 09:02:03.456 +08:00');
    expect(formatLogTime(T0, -(7 * 60 + 30))).toBe('2026/11/27 17:32:03.456 -07:30');
    expect(formatLogTime(0)).toBe('1970/01/01 00:00:00.000 +00:00');
  });

  it('child loggers replace the component and bind fields', () => {
    const { sink, logger } = setup();
    const peer = logger.child({ component: 'raftstore', region_id: 7n });
    const sub = peer.child({ peer_id: 9n });
    sub.info('became leader', { term: 3n });
    expect(sink.lines()[0]).toBe('[2026/11/28 01:02:03.456 +00:00] [INFO] [raftstore] ["became leader"] [region_id=7] [peer_id=9] [term=3]');
    expect(sink.records()[0]).toMatchObject({ component: 'raftstore', message: 'became leader', level: 'info' });
    logger.info('root');
    expect(sink.lines()[1]).toContain('[server] [root]');
  });

  it('filters by level, shared by children, and setLevel changes it', () => {
    const { sink, logger } = setup();
    const child = logger.child({ component: 'c' });
    expect(logger.level).toBe('info');
    child.debug('hidden');
    expect(child.isEnabled('debug')).toBe(false);
    logger.setLevel('debug');
    child.debug('shown');
    expect(child.isEnabled('debug')).toBe(true);
    logger.setLevel('error');
    logger.warn('hidden');
    logger.error('shown2');
    expect(sink.messages()).toEqual(['shown', 'shown2']);
    expect(sink.messages('error')).toEqual(['shown2']);
    expect(sink.find(/shown/)?.message).toBe('shown');
    sink.clear();
    expect(sink.lines()).toEqual([]);
  });

  it('uses <unknown> when no component is set and drops lines after close', async () => {
    const clock = new ManualClock({ startWallMs: T0 });
    const sink = new MemoryLogSink({ maxRecords: 1 });
    const logger = createLogger({ clock, sink });
    logger.info('a');
    logger.info('b');
    expect(sink.lines()).toEqual(['[2026/11/28 01:02:03.456 +00:00] [INFO] [<unknown>] [b]']);
    await logger.close();
    await logger.close();
    logger.error('after');
    expect(sink.messages()).toEqual(['b']);
  });

  it('parses level names as TiKV config does', () => {
    expect(parseLogLevel('WARNING')).toBe('warn');
    expect(parseLogLevel('fatal')).toBe('error');
    expect(parseLogLevel('trace')).toBe('debug');
    expect(parseLogLevel(' info ')).toBe('info');
    expect(() => parseLogLevel('loud')).toThrow(RangeError);
  });

  it('the noop logger drops everything', () => {
    const l = createNoopLogger();
    l.error('x');
    expect(l.child({ component: 'a' }).isEnabled('error')).toBe(false);
  });
});

describe('logger json format', () => {
  it('writes one object per line with header keys first', () => {
    const { sink, logger } = setup('json');
    logger.info('peer created', { region_id: 1n, key: Uint8Array.of(0xab), message: 'dup', n: 2 });
    const line = sink.lines()[0] ?? '';
    expect(line).toBe(
      '{"time":"2026/11/28 01:02:03.456 +00:00","level":"INFO","component":"server","message":"peer created","region_id":"1","key":"AB","_message":"dup","n":2}',
    );
    expect(JSON.parse(line)).toMatchObject({ level: 'INFO', region_id: '1' });
  });
});

describe('logger file output', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tikv-ts-util-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes lines to a file through winston', async () => {
    const clock = new ManualClock({ startWallMs: T0 });
    const path = join(dir, 'tikv.log');
    const logger = createLogger({ clock, file: { path }, fs: new NodeFileSystem() });
    logger.info('hello', { a: 1 });
    logger.debug('not written');
    await logger.close();
    expect(readFileSync(path, 'utf8')).toBe('[2026/11/28 01:02:03.456 +00:00] [INFO] [<unknown>] [hello] [a=1]\n');
  });

  it('rotates by size and keeps at most maxFiles files', async () => {
    const clock = new ManualClock({ startWallMs: T0 });
    const path = join(dir, 'tikv.log');
    const logger = createLogger({ clock, file: { path, maxSizeBytes: 400, maxFiles: 3 }, fs: new NodeFileSystem() });
    for (let i = 0; i < 40; i++) logger.info('a line that takes some space', { i });
    await logger.close();
    expect(readdirSync(dir).sort()).toEqual(['tikv.log', 'tikv.log.1', 'tikv.log.2']);
    const all = ['tikv.log.2', 'tikv.log.1', 'tikv.log'].map((f) => readFileSync(join(dir, f), 'utf8'));
    for (const text of all) expect(text.length).toBeLessThanOrEqual(400);
    // Rotation keeps whole lines, in order, ending with the newest line in the current file.
    const lines = all.join('').split('\n').filter((l) => l.length > 0);
    const idx = lines.map((l) => Number(/\[i=(\d+)\]/.exec(l)?.[1]));
    expect(idx).toEqual(Array.from({ length: idx.length }, (_, k) => 40 - idx.length + k));
    expect(idx[idx.length - 1]).toBe(39);
  });
});

describe('logger file output on SimFs', () => {
  it('flush() writes every line and a restart appends to the existing file', async () => {
    const fs = new SimFs();
    const clock = new ManualClock({ startWallMs: T0 });
    const l1 = createLogger({ clock, file: { path: '/log/tikv.log' }, fs });
    await fs.mkdir('/log');
    l1.info('one');
    await l1.flush();
    expect(new TextDecoder().decode(await fs.readFile('/log/tikv.log'))).toContain('[one]');
    await l1.close();
    const l2 = createLogger({ clock, file: { path: '/log/tikv.log' }, fs });
    l2.info('two');
    await l2.close();
    const text = new TextDecoder().decode(await fs.readFile('/log/tikv.log'));
    expect(text.split('\n').filter(Boolean).map((l) => l.slice(-5))).toEqual(['[one]', '[two]']);
  });

  it('reports write errors and keeps logging after them', async () => {
    const fs = new SimFs();
    const errors: unknown[] = [];
    const logger = createLogger({ clock: new ManualClock(), file: { path: '/tikv.log' }, fs, onFileError: (e) => errors.push(e) });
    fs.failNext('write', 'ENOSPC');
    logger.info('lost');
    await logger.flush();
    logger.info('kept');
    await logger.close();
    expect(errors).toHaveLength(1);
    expect(new TextDecoder().decode(await fs.readFile('/tikv.log'))).toMatch(/\[kept\]\n$/);
  });

  it('rotates with maxFiles 1 by starting over', async () => {
    const fs = new SimFs();
    const logger = createLogger({ clock: new ManualClock(), file: { path: '/t.log', maxSizeBytes: 100, maxFiles: 1 }, fs });
    for (let i = 0; i < 10; i++) logger.info('0123456789', { i });
    await logger.close();
    expect(await fs.readdir('/')).toEqual(['t.log']);
    expect(new TextDecoder().decode(await fs.readFile('/t.log'))).toContain('[i=9]');
    expect(() => createLogger({ clock: new ManualClock(), file: { path: '/x' } })).toThrow(TypeError);
  });
});
