import { formatDuration, formatSize, parseDuration, parseSize } from './readable';

describe('readable durations', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['250us', 0.25],
    ['0', 0],
    ['0s', 0],
    [' 2s ', 2000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', 's', '10x', '-1s', '1s ms', '1.s'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });

  it('formats', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1500)).toBe('1s500ms');
    expect(formatDuration(0.25)).toBe('250us');
    expect(parseDuration(formatDuration(90_061_001))).toBe(90_061_001);
    expect(() => formatDuration(-1)).toThrow(RangeError);
  });
});

describe('readable sizes', () => {
  it.each([
    ['128MiB', 128 * 2 ** 20],
    ['1GB', 2 ** 30],
    ['1gb', 2 ** 30],
    ['64KB', 65536],
    ['64K', 65536],
    ['512B', 512],
    ['1024', 1024],
    ['1.5KiB', 1536],
    ['1TB', 2 ** 40],
    ['2 MB', 2 * 2 ** 20],
  ])('parses %s', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'MB', '1XB', '-1MB', '1iB', '99999999PB'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(RangeError);
  });

  it('formats', () => {
    expect(formatSize(0)).toBe('0B');
    expect(formatSize(96 * 2 ** 20)).toBe('96MiB');
    expect(formatSize(2 ** 30)).toBe('1GiB');
    expect(formatSize(1000)).toBe('1000B');
    expect(formatSize(1536)).toBe('1536B');
    expect(() => formatSize(1.5)).toThrow(RangeError);
  });
});
