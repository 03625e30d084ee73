// The Raft consensus algorithm as a pure, deterministic state machine driven by tick/step/ready.
export {};
