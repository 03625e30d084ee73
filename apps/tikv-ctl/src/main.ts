// Admin CLI against a running cluster or a stopped data dir.
export {};
