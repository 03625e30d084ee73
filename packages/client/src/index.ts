// A TypeScript client for this cluster and for TiKV: raw and transactional.
export {};
