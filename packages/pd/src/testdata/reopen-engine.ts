// A process restart for specs over engine-memory: the engine is closed (nothing more is written
// through it) and its store opened again, keeping everything written before.
import { MemoryEngine } from '@tikv-ts/engine-memory';

/** Closes `engine` and returns a new engine over the same {@link MemoryEngine.store}. */
export async function reopenEngine(engine: MemoryEngine): Promise<MemoryEngine> {
  await engine.close();
  return MemoryEngine.open({ store: engine.store });
}
