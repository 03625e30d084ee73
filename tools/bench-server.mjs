#!/usr/bin/env node
// Benchmark of tikv-server (a script, not a test): one run, several processes on 127.0.0.1 —
// pd-server and tikv-server started from the apps, a bare grpc-js echo server, a single-member
// etcd (when `etcd` is installed), and this process as the client (kvproto-generated grpc-js
// clients). Measured in the same run:
//   - raw put (synced), raw get and a one-key 2PC transaction (prewrite + commit) at 1, 16 and 64
//     requests in flight, unary and through BatchCommands: ops/s, p50 and p99, and the ratio
//     against the echo server at the same concurrency (unary echo of a RawGet-sized message);
//   - ceilings: rocksdb-native's own concurrent `get` (64 in flight, 200k keys) in this process,
//     etcd v3 Put (synced by etcd's WAL) at 1, 16 and 64 in flight.
// Targets: BatchCommands raw get @64 >= 0.5x rocksdb-native get @64; unary raw get @64 >= 0.8x
// echo @64 (measured against the echo called with raw bytes and with the RawGet message); synced
// raw put @64 >= 1.5x etcd put @64 with a lower p99.
//
// Usage: node tools/bench-server.mjs   (after building apps/pd-server and apps/tikv-server)
// Env: BENCH_SECONDS per cell (default 2), BENCH_ROUNDS for the target ratios (default 5),
// BENCH_CELLS=0 to measure only the target ratios (skip the 1/16/64 table), BENCH_VERBOSE=1 to
// print every round of the target ratios, BENCH_DIR (default os.tmpdir()).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './cluster/ports.mjs';

const HOST = '127.0.0.1';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'packages/server/package.json'));
const grpc = require('@grpc/grpc-js');
const { tikvpb, kvrpcpb, etcdserverpb } = require(join(root, 'packages/proto/dist/index.js'));

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CELLS = process.env.BENCH_CELLS !== '0';
const VERBOSE = process.env.BENCH_VERBOSE === '1';
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-server-'));
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

// ---- echo server mode (a child process) ----
if (process.argv[2] === '--echo-server') {
  const server = new grpc.Server();
  const def = {
    echo: {
      path: '/bench.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: (b) => b,
      responseDeserialize: (b) => b,
    },
  };
  server.addService(def, { echo: (call, cb) => cb(null, call.request) });
  // The same listener as tikv-server's (TCP_NODELAY on accepted sockets, connections injected
  // into grpc-js), so that the ceiling is not held back by Nagle's algorithm.
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  net.createServer({ noDelay: true }, (s) => injector.injectConnection(s)).listen(Number(process.argv[3]), '127.0.0.1', () => {
    process.stdout.write('echo ready\n');
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  }).finally(cleanup);
}

// ---- helpers ----
const procs = [];
function cleanup() {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
}
function start(cmd, args, readyRe, name) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (b) => {
      out += b.toString();
      if (readyRe.test(out)) resolve(p);
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code) => reject(new Error(`${name} exited (${code}):\n${out}`)));
  });
}
async function waitHttp(url) {
  for (let i = 0; i < 300; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timeout waiting for ${url}`);
}
function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}
/** Runs `op` with `conc` in flight for SECONDS; returns ops/s, p50, p99 (ms) and failed ops. */
async function measure(conc, op) {
  const lat = [];
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const until = t0 + SECONDS * 1000;
  let n = 0;
  let errors = 0;
  let firstError;
  await Promise.all(
    Array.from({ length: conc }, async (_, w) => {
      while (now() < until) {
        const s = now();
        try {
          await op(w, n++);
          lat.push(now() - s);
        } catch (e) {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
        }
      }
    }),
  );
  const secs = (now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  // clientUs: this process's CPU per op (the client side; 1e6/clientUs is the rate at which
  // this single-threaded client would saturate its core).
  const clientUs = lat.length === 0 ? 0 : (cpu.user + cpu.system) / lat.length;
  return { ops: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99), clientUs, errors, firstError };
}
const rows = [];
function row(name, r, ceilingName, ceiling) {
  const ratio = ceiling === undefined ? undefined : r.ops / ceiling.ops;
  rows.push({ name, ...r, ceilingName, ratio });
  console.log(
    `${name.padEnd(40)} ${r.ops.toFixed(0).padStart(8)} ops/s  p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms` +
      (ratio === undefined ? '' : `   ${ratio.toFixed(2)}x ${ceilingName}`) +
      (r.errors > 0 ? `   FAILED OPS ${r.errors} (first: ${r.firstError})` : ''),
  );
}
function unary(client, method) {
  return (req) =>
    new Promise((resolve, reject) =>
      client[method](req, (e, r) => {
        if (e) reject(e);
        else resolve(r);
      }),
    );
}
/** A BatchCommands client as client-go runs it: requests queued and sent together each tick. */
function batchClient(client) {
  const stream = client.batchCommands();
  const waiting = new Map();
  let nextId = 1n;
  let queue = [];
  let scheduled = false;
  stream.on('data', (msg) => {
    msg.requestIds.forEach((id, i) => {
      const w = waiting.get(id);
      waiting.delete(id);
      w(msg.responses[i].cmd);
    });
  });
  stream.on('error', (e) => {
    for (const w of waiting.values()) w(undefined, e);
  });
  const flush = () => {
    scheduled = false;
    const q = queue;
    queue = [];
    for (let i = 0; i < q.length; i += 128) {
      const part = q.slice(i, i + 128);
      stream.write(tikvpb.BatchCommandsRequest.fromPartial({ requests: part.map((p) => ({ cmd: p.cmd })), requestIds: part.map((p) => p.id) }));
    }
  };
  return {
    call(cmd) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, (r, e) => (e ? reject(e) : resolve(r.value)));
        queue.push({ id, cmd });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    end: () => stream.end(),
  };
}
function check(r, what) {
  if (r.regionError !== undefined) throw new Error(`${what}: region error ${JSON.stringify(r.regionError.message)}`);
  if (typeof r.error === 'string' && r.error !== '') throw new Error(`${what}: ${r.error}`);
  if (r.error !== undefined && typeof r.error === 'object') throw new Error(`${what}: ${JSON.stringify(r.error)}`);
  if (Array.isArray(r.errors) && r.errors.length > 0) throw new Error(`${what}: ${JSON.stringify(r.errors[0])}`);
  return r;
}

async function main() {
  const pdPort = await freePort(HOST);
  const kvPort = await freePort(HOST);
  const statusPort = await freePort(HOST);
  const echoPort = await freePort(HOST);
  console.log(`bench-server: ${SECONDS}s per cell, dir ${base}`);

  // ---- ceiling 1: rocksdb-native's own concurrent get (before the servers start) ----
  const RocksDB = createRequire(join(root, 'packages/engine-rocks/package.json'))('rocksdb-native');
  const bare = new RocksDB(join(base, 'bare'));
  await bare.ready();
  const KEYS = 200_000;
  const key = (i) => {
    const b = Buffer.alloc(16);
    b.write('z', 0);
    b.writeUInt32BE(i, 12);
    return b;
  };
  for (let s = 0; s < KEYS; s += 1000) {
    const w = bare.write({ capacity: 1000 });
    for (let i = s; i < s + 1000; i++) w.tryPut(key(i), Buffer.alloc(64, 0x5a));
    await w.flush();
    w.destroy();
  }
  await bare.flush();
  // Settle the LSM now, so that no compaction of the ceiling's database runs in this (the
  // client's) process while the servers are measured.
  await bare.compactRange();
  let lcg = 7;
  const rnd = (n) => ((lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0), lcg % n);
  const rocksGet = async () => {
    if ((await bare.get(key(rnd(KEYS)))) === null) throw new Error('miss');
  };
  const rocks = await measure(64, rocksGet);
  row('rocksdb-native get, 64 in flight', rocks);

  // ---- processes ----
  await start(process.execPath, [fileURLToPath(import.meta.url), '--echo-server', String(echoPort)], /echo ready/, 'echo');
  start(process.execPath, [join(root, 'apps/pd-server/dist/main.js'), '--client-urls', `http://127.0.0.1:${pdPort}`, '--data-dir', join(base, 'pd'), '--log-level', 'warn'], /$^/, 'pd').catch(() => undefined);
  await waitHttp(`http://127.0.0.1:${pdPort}/pd/api/v1/health`);
  const cfg = join(base, 'tikv.toml');
  writeFileSync(cfg, '[log]\nlevel = "warn"\n');
  start(
    process.execPath,
    [join(root, 'apps/tikv-server/dist/main.js'), '--addr', `127.0.0.1:${kvPort}`, '--status-addr', `127.0.0.1:${statusPort}`, '--pd', `127.0.0.1:${pdPort}`, '--data-dir', join(base, 'kv'), '--config', cfg],
    /$^/,
    'tikv',
  ).catch(() => undefined);
  let region;
  for (let i = 0; i < 300 && region === undefined; i++) {
    region = await fetch(`http://127.0.0.1:${statusPort}/regions`).then((r) => r.json().then((j) => j.regions[0]), () => undefined);
    if (region === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  if (region === undefined) throw new Error('tikv-server did not start');
  const ctx = kvrpcpb.Context.fromPartial({
    regionId: BigInt(region.id),
    regionEpoch: { confVer: BigInt(region.region_epoch.conf_ver), version: BigInt(region.region_epoch.version) },
    peer: { id: BigInt(region.peers[0].id), storeId: BigInt(region.peers[0].store_id) },
  });

  const Tikv = grpc.makeGenericClientConstructor(tikvpb.TikvService, 'Tikv');
  const client = new Tikv(`127.0.0.1:${kvPort}`, grpc.credentials.createInsecure());
  const EchoC = grpc.makeGenericClientConstructor(
    { echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b } },
    'Echo',
  );
  const echoClient = new EchoC(`127.0.0.1:${echoPort}`, grpc.credentials.createInsecure());
  const echoCall = unary(echoClient, 'echo');
  // The same bare echo server, called with the RawGet request message encoded by the generated
  // code and the echoed bytes decoded as a message: the client does the same protobuf work as
  // for a RawGet, so this ratio isolates what the server adds to a bare echo.
  const EchoMsgC = grpc.makeGenericClientConstructor(
    {
      echo: {
        path: '/bench.Echo/Echo',
        requestStream: false,
        responseStream: false,
        requestSerialize: (m) => Buffer.from(kvrpcpb.RawGetRequest.encode(m).finish()),
        requestDeserialize: (b) => b,
        responseSerialize: (b) => b,
        responseDeserialize: (b) => kvrpcpb.RawGetRequest.decode(b),
      },
    },
    'EchoMsg',
  );
  const echoMsgClient = new EchoMsgC(`127.0.0.1:${echoPort}`, grpc.credentials.createInsecure());
  const echoMsgCall = unary(echoMsgClient, 'echo');
  const getReqBytes = Buffer.from(kvrpcpb.RawGetRequest.encode(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(1) })).finish());

  // Load keys for raw gets.
  const RAW_KEYS = 20_000;
  const rawPut = unary(client, 'rawPut');
  const rawBatchPut = unary(client, 'rawBatchPut');
  for (let s = 0; s < RAW_KEYS; s += 500) {
    const pairs = [];
    for (let i = s; i < s + 500; i++) pairs.push({ key: key(i), value: Buffer.alloc(64, 0x5a) });
    check(await rawBatchPut(kvrpcpb.RawBatchPutRequest.fromPartial({ context: ctx, pairs })), 'load');
  }
  const rawGet = unary(client, 'rawGet');
  const prewrite = unary(client, 'kvPrewrite');
  const commit = unary(client, 'kvCommit');
  // Warm up the connections.
  await measure(16, async () => check(await rawGet(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(rnd(RAW_KEYS)) })), 'warm'));
  await measure(16, () => echoCall(getReqBytes));

  let ts = BigInt(Date.now()) << 18n;
  let seq = 0;
  const echo = {};
  for (const conc of CELLS ? [1, 16, 64] : []) {
    echo[conc] = await measure(conc, () => echoCall(getReqBytes));
    row(`grpc-js echo, ${conc} in flight`, echo[conc]);
  }

  const results = {};
  for (const mode of CELLS ? ['unary', 'batch'] : []) {
    const b = mode === 'batch' ? batchClient(client) : undefined;
    const get = b ? (r) => b.call({ $case: 'RawGet', value: r }) : rawGet;
    const put = b ? (r) => b.call({ $case: 'RawPut', value: r }) : rawPut;
    const pw = b ? (r) => b.call({ $case: 'Prewrite', value: r }) : prewrite;
    const cm = b ? (r) => b.call({ $case: 'Commit', value: r }) : commit;
    for (const conc of [1, 16, 64]) {
      const g = await measure(conc, async () => {
        const r = check(await get(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(rnd(RAW_KEYS)) })), 'raw get');
        if (r.notFound) throw new Error('raw get: not found');
      });
      row(`raw get, ${mode}, ${conc} in flight`, g, `echo@${conc}`, echo[conc]);
      results[`get-${mode}-${conc}`] = g;
      const p = await measure(conc, async () => {
        check(await put(kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: Buffer.from(`put-${seq++}`), value: Buffer.alloc(64, 1) })), 'raw put');
      });
      row(`raw put (synced), ${mode}, ${conc} in flight`, p, `echo@${conc}`, echo[conc]);
      results[`put-${mode}-${conc}`] = p;
      const t = await measure(conc, async () => {
        const k = Buffer.from(`txn-${seq++}`);
        const startTs = ++ts;
        check(await pw(kvrpcpb.PrewriteRequest.fromPartial({ context: ctx, mutations: [{ op: kvrpcpb.Op.Put, key: k, value: Buffer.alloc(64, 2) }], primaryLock: k, startVersion: startTs, lockTtl: 3000n })), 'prewrite');
        const commitTs = ++ts;
        check(await cm(kvrpcpb.CommitRequest.fromPartial({ context: ctx, keys: [k], startVersion: startTs, commitVersion: commitTs })), 'commit');
      });
      row(`2PC txn (1 key), ${mode}, ${conc} in flight`, t, `echo@${conc}`, echo[conc]);
      results[`txn-${mode}-${conc}`] = t;
    }
    b?.end();
  }

  // ---- ceiling 3: single-member etcd, synced puts ----
  let etcd;
  let eput;
  let etcdClient;
  const etcdBin = await new Promise((r) => {
    const p = spawn('sh', ['-c', 'command -v etcd']);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', () => r(out.trim()));
  });
  if (etcdBin !== '') {
    const cp = await freePort(HOST);
    const pp = await freePort(HOST);
    start(
      etcdBin,
      [
        '--data-dir', join(base, 'etcd'),
        '--listen-client-urls', `http://127.0.0.1:${cp}`, '--advertise-client-urls', `http://127.0.0.1:${cp}`,
        '--listen-peer-urls', `http://127.0.0.1:${pp}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${pp}`,
        '--initial-cluster', `default=http://127.0.0.1:${pp}`, '--log-level', 'error',
      ],
      /$^/,
      'etcd',
    ).catch(() => undefined);
    await waitHttp(`http://127.0.0.1:${cp}/health`);
    const KV = grpc.makeGenericClientConstructor(etcdserverpb.KVService, 'KV');
    const kvc = new KV(`127.0.0.1:${cp}`, grpc.credentials.createInsecure());
    eput = unary(kvc, 'put');
    etcdClient = kvc;
    await measure(16, () => eput(etcdserverpb.PutRequest.fromPartial({ key: Buffer.from('warm'), value: Buffer.alloc(64, 1) })));
    etcd = {};
    for (const conc of CELLS ? [1, 16, 64] : []) {
      etcd[conc] = await measure(conc, () => eput(etcdserverpb.PutRequest.fromPartial({ key: Buffer.from(`etcd-${seq++}`), value: Buffer.alloc(64, 1) })));
      row(`etcd put (synced), ${conc} in flight`, etcd[conc]);
    }
  } else {
    console.log('etcd not installed (apt-get install etcd-server): the etcd ceiling is skipped');
  }

  // Target ratios: the two sides of each ratio are measured back to back in every round (which
  // goes first alternates), so each round gives one paired ratio under the same machine state;
  // the figure is the median of the ROUNDS paired ratios (odd by default), which neither a
  // momentary slowdown of one side nor a lucky burst of the other can move much. p99s are the
  // medians of each side's per-round p99.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
  const bc = batchClient(client);
  const sides = {
    batchGet: () => measure(64, async () => {
      const r = check(await bc.call({ $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(rnd(RAW_KEYS)) }) }), 'raw get');
      if (r.notFound) throw new Error('raw get: not found');
    }),
    rocksGet: () => measure(64, rocksGet),
    unaryGet: () => measure(64, async () => {
      const r = check(await rawGet(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(rnd(RAW_KEYS)) })), 'raw get');
      if (r.notFound) throw new Error('raw get: not found');
    }),
    echo: () => measure(64, () => echoCall(getReqBytes)),
    echoMsg: () => measure(64, () => echoMsgCall(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: key(rnd(RAW_KEYS)) }))),
    unaryPut: () => measure(64, async () => {
      check(await rawPut(kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: Buffer.from(`put-${seq++}`), value: Buffer.alloc(64, 1) })), 'raw put');
    }),
    batchPut: () => measure(64, async () => {
      check(await bc.call({ $case: 'RawPut', value: kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: Buffer.from(`put-${seq++}`), value: Buffer.alloc(64, 1) }) }), 'raw put');
    }),
    etcdPut: () => measure(64, () => eput(etcdserverpb.PutRequest.fromPartial({ key: Buffer.from(`etcd-${seq++}`), value: Buffer.alloc(64, 1) }))),
  };
  const pairs = [['batchGet', 'rocksGet'], ['unaryGet', 'echo'], ['unaryGet', 'echoMsg'], ...(eput === undefined ? [] : [['unaryPut', 'etcdPut'], ['batchPut', 'etcdPut']])];
  const rounds = pairs.map(() => []); // per pair: [{ a, b }] per round
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, pair] of pairs.entries()) {
      const got = {};
      for (const name of round % 2 === 0 ? pair : [...pair].reverse()) {
        got[name] = await sides[name]();
        if (VERBOSE) console.log(`  round ${round + 1}: ${name.padEnd(9)} ${got[name].ops.toFixed(0).padStart(6)} ops/s, client ${got[name].clientUs.toFixed(0)} µs CPU/op`);
      }
      rounds[k].push({ a: got[pair[0]], b: got[pair[1]] });
    }
  }
  bc.end();
  await bare.close();
  etcdClient?.close();
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  console.log(`\ntargets (64 in flight, median of ${ROUNDS} paired rounds; the median round's figures shown):`);
  const fmt = (r) => `${r.ops.toFixed(0)} ops/s (p50 ${r.p50.toFixed(2)}, p99 ${r.p99.toFixed(2)} ms, client ${r.clientUs.toFixed(0)} µs CPU/op)`;
  const report = (k, label, ceilingLabel, target, needLowerP99) => {
    const rs = rounds[k];
    const ratios = rs.map((r) => r.a.ops / r.b.ops);
    const m = median(ratios);
    const mid = rs[ratios.indexOf(m)];
    const p99a = median(rs.map((r) => r.a.p99));
    const p99b = median(rs.map((r) => r.b.p99));
    const met = m >= target && (!needLowerP99 || p99a < p99b);
    console.log(
      `  ${label} ${fmt(mid.a)} / ${ceilingLabel} ${fmt(mid.b)} = ${m.toFixed(2)}x (target >= ${target}x${needLowerP99 ? `, lower p99: median p99 ${p99a.toFixed(2)} vs ${p99b.toFixed(2)} ms` : ''}) ${met ? 'MET' : 'NOT MET'}` +
        `\n    per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}`,
    );
  };
  report(0, 'BatchCommands raw get', 'rocksdb-native get', 0.5, false);
  report(1, 'unary raw get', 'grpc-js echo (raw bytes)', 0.8, false);
  report(2, 'unary raw get', 'grpc-js echo (RawGet message)', 0.8, false);
  if (eput !== undefined) {
    report(3, 'synced raw put (unary)', 'etcd put', 1.5, true);
    report(4, 'synced raw put (BatchCommands)', 'etcd put', 1.5, true);
  }
  client.close();
  echoClient.close();
  echoMsgClient.close();
}
