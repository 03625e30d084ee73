// The main job. Until the servers exist it reports what is built so far.
console.log('tikv-ts: the workspace is built; servers are not implemented yet.');
