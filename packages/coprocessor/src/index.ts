// DAG push-down: executors, expressions, TiDB table and row codecs.
export {};
