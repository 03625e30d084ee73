// Real adapters: SystemClock, NodeFileSystem.
export {};
