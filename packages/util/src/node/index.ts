// Real adapters: SystemClock, NodeFileSystem, createNodeRuntime.
export { SystemClock, type SystemClockOptions } from './system-clock';
export { NodeFileSystem } from './node-file-system';
export { createNodeRuntime, type NodeRuntime, type NodeRuntimeOptions } from './node-runtime';
export { acquirePidLock, PidLockHeldError } from './pid-lock';
