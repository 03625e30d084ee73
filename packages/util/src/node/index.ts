// Real adapters: SystemClock, NodeFileSystem.
export { SystemClock, type SystemClockOptions } from './system-clock';
