// Benchmark of @tikv-ts/raft on its BUILT output (packages/raft/dist): committed proposals per
// second through a 3-node cluster in memory (no I/O: MemStorage, messages handed over
// directly), and the cost of one `step`. Ceilings measured in the same run: protobuf
// encode+decode of the same message flow (what any real transport pays per message), and an
// empty loop that only reads each message's fields.
//
// Usage: npx nx build @tikv-ts/raft && node tools/bench-raft.mjs [proposals=20000] [batch=64] [payloadBytes=128]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const raft = require('../packages/raft/dist/index.js');
const { eraftpb } = require('../packages/proto/dist/index.js');
const { SeededRng } = require('../packages/util/dist/index.js');

const total = Number(process.argv[2] ?? 20000);
const batch = Number(process.argv[3] ?? 64);
const payloadBytes = Number(process.argv[4] ?? 128);
const now = () => process.hrtime.bigint();

function cluster() {
  const ids = [1n, 2n, 3n];
  const nodes = new Map();
  for (const id of ids) {
    const storage = raft.MemStorage.withConfState(raft.newConfState(ids));
    const node = new raft.RawNode({ id, electionTick: 10, heartbeatTick: 1, maxInflightMsgs: 256, rng: new SeededRng(id) }, storage);
    nodes.set(id, { node, storage, applied: 0 });
  }
  return nodes;
}

function run(nodes, { record }) {
  const flow = [];
  let steps = 0;
  let stepNs = 0n;
  const queue = [];
  const handle = (n) => {
    if (!n.node.hasReady()) return false;
    const rd = n.node.ready();
    for (const m of rd.messages) queue.push(m);
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const m of rd.persistedMessages) queue.push(m);
    n.applied += rd.committedEntries.length;
    const light = n.node.advance(rd);
    for (const m of light.messages) queue.push(m);
    n.applied += light.committedEntries.length;
    n.node.advanceApply();
    return true;
  };
  const stabilize = () => {
    for (;;) {
      let any = false;
      for (const n of nodes.values()) any = handle(n) || any;
      while (queue.length > 0) {
        any = true;
        const m = queue.shift();
        if (record) flow.push(m);
        const t0 = now();
        nodes.get(m.to).node.step(m);
        stepNs += now() - t0;
        steps++;
      }
      if (!any) return;
    }
  };
  const leader = nodes.get(1n);
  leader.node.campaign();
  stabilize();
  const payload = new Uint8Array(payloadBytes).fill(7);
  const ctx = new Uint8Array(0);
  const t0 = now();
  for (let done = 0; done < total; done += batch) {
    for (let i = 0; i < batch && done + i < total; i++) leader.node.propose(ctx, payload);
    stabilize();
  }
  const elapsedNs = now() - t0;
  const committed = Math.min(...[...nodes.values()].map((n) => n.applied));
  return { elapsedNs, committed, steps, stepNs, flow };
}

// warm up, then measure
run(cluster(), { record: false });
const r = run(cluster(), { record: true });
const proposalsPerSec = (r.committed / Number(r.elapsedNs)) * 1e9;
const nsPerStep = Number(r.stepNs) / r.steps;

// Ceiling 1: protobuf encode + decode of every message of the same flow.
let t = now();
let bytes = 0;
for (const m of r.flow) {
  const b = eraftpb.Message.encode(m).finish();
  bytes += b.length;
  eraftpb.Message.decode(b);
}
const codecNsPerMsg = Number(now() - t) / r.flow.length;

// Ceiling 2: an empty loop over the same flow that only reads the fields step reads first.
t = now();
let sink = 0n;
for (const m of r.flow) sink += m.term + m.index + m.commit + BigInt(m.entries.length) + BigInt(m.msgType);
const emptyNsPerMsg = Number(now() - t) / r.flow.length;
if (sink < 0n) console.log('unreachable');

// Cost of step alone on the hot follower path: one MsgAppend with one entry.
const fs = raft.MemStorage.withConfState(raft.newConfState([1n, 2n]));
const follower = new raft.RawNode({ id: 2n, electionTick: 10, heartbeatTick: 1, rng: new SeededRng(2n) }, fs);
const appendCount = 50000;
const appends = [];
for (let i = 0; i < appendCount; i++) {
  const m = raft.newMessage(eraftpb.MessageType.MsgAppend, 2n, 1n);
  m.term = 1n;
  m.index = BigInt(i);
  m.logTerm = i === 0 ? 0n : 1n;
  m.commit = BigInt(i);
  m.entries = [raft.newEntry({ term: 1n, index: BigInt(i + 1), data: new Uint8Array(payloadBytes) })];
  appends.push(m);
}
t = now();
for (let i = 0; i < appendCount; i++) {
  follower.step(appends[i]);
  if ((i & 1023) === 1023) {
    const rd = follower.ready();
    fs.append(rd.entries);
    if (rd.hardState !== undefined) fs.setHardState(rd.hardState);
    follower.advance(rd);
    follower.advanceApply();
  }
}
const appendStepNs = Number(now() - t) / appendCount;

const out = {
  proposals: r.committed,
  batch,
  payloadBytes,
  committedProposalsPerSec: Math.round(proposalsPerSec),
  messages: r.flow.length,
  steps: r.steps,
  nsPerStep: Math.round(nsPerStep),
  followerAppendStepNs: Math.round(appendStepNs),
  ceilingCodecNsPerMsg: Math.round(codecNsPerMsg),
  ceilingEmptyLoopNsPerMsg: Math.round(emptyNsPerMsg * 10) / 10,
  stepVsCodecRatio: Math.round((nsPerStep / codecNsPerMsg) * 100) / 100,
  avgMessageBytes: Math.round(bytes / r.flow.length),
};
console.log(JSON.stringify(out, null, 2));
