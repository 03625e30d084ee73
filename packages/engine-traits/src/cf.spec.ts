import { ALL_CFS, CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE, DATA_CFS, checkCfName, isCfName } from './cf';
import { EngineClosedError, EngineCorruptionError, EngineIoError } from './errors';

describe('column family names', () => {
  it('lists the four column families in a fixed order, frozen', () => {
    expect(ALL_CFS).toEqual(['default', 'lock', 'write', 'raft']);
    expect([CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT]).toEqual(ALL_CFS);
    expect(DATA_CFS).toEqual(['default', 'lock', 'write']);
    expect(Object.isFrozen(ALL_CFS)).toBe(true);
  });

  it('checks names', () => {
    for (const cf of ALL_CFS) expect(isCfName(cf)).toBe(true);
    expect(isCfName('Default')).toBe(false);
    expect(checkCfName('raft')).toBe('raft');
    expect(() => checkCfName('nope')).toThrow(TypeError);
  });
});

describe('engine errors', () => {
  it('carry stable codes, names and causes', () => {
    const cause = new Error('disk');
    const closed = new EngineClosedError('snapshot');
    const io = new EngineIoError('write', 'disk full', { cause });
    const corrupt = new EngineCorruptionError('bad block');
    expect([closed.code, io.code, corrupt.code]).toEqual(['KV:Engine:Closed', 'KV:Engine:Io', 'KV:Engine:Corruption']);
    expect([closed.name, io.name, corrupt.name]).toEqual(['EngineClosedError', 'EngineIoError', 'EngineCorruptionError']);
    expect(closed.target).toBe('snapshot');
    expect(closed.message).toBe('The snapshot is closed');
    expect(io.operation).toBe('write');
    expect(io.cause).toBe(cause);
  });
});
