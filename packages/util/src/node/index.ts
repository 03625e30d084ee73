// Real adapters: SystemClock, NodeFileSystem.
export { SystemClock, type SystemClockOptions } from './system-clock';
export { NodeFileSystem } from './node-file-system';
