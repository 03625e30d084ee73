import type RocksDB from 'rocksdb-native';

/**
 * Reads up to `max` entries from a native iterator stream: everything already buffered, or,
 * when nothing is, waits for the next native read. Resolves `null` at the end of the stream.
 */
export function readChunk(stream: RocksDB.NativeIterator, max: number): Promise<RocksDB.Entry[] | null> {
  const out: RocksDB.Entry[] = [];
  let item: RocksDB.Entry | null;
  while (out.length < max && (item = stream.read()) !== null) out.push(item);
  if (out.length > 0) return Promise.resolve(out);
  if (stream.destroyed) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    const onReadable = (): void => {
      cleanup();
      readChunk(stream, max).then(resolve, reject);
    };
    const onEnd = (): void => {
      cleanup();
      // Entries may still be buffered when 'end' is seen before 'readable'.
      const rest: RocksDB.Entry[] = [];
      let e: RocksDB.Entry | null;
      while (rest.length < max && (e = stream.read()) !== null) rest.push(e);
      resolve(rest.length > 0 ? rest : null);
    };
    const onError = (err: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
  });
}
