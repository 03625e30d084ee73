// The pd-server process: parses flags and config and runs the Placement Driver.
export {};
