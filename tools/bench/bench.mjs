#!/usr/bin/env node
// tools/bench: a YCSB-style benchmark of the TiKV client (@tikv-ts/client, built dist) against a
// running cluster (--pd) or one it starts itself, optionally against a single-member etcd too
// (--compare-etcd). Closed loop: each of N workers awaits its operation, then issues the next.
// Usage: node tools/bench/bench.mjs --help
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Histogram } from './histogram.mjs';
import { haveEtcd, startCluster, startEtcd } from './servers.mjs';

const require = createRequire(import.meta.url);

const USAGE = `Usage: node tools/bench/bench.mjs [options]

A YCSB-style benchmark of @tikv-ts/client (build first:
  NX_DAEMON=false npx nx run-many -t build --outputStyle=static).

Workloads (--workload, default all):
  rawput   raw put of a random record key
  rawget   raw get of a random record key (after the load phase)
  a        raw: 50% get, 50% put (YCSB A)
  b        raw: 95% get, 5% put (YCSB B)
  c        raw: 100% get (YCSB C)
  txn1     optimistic transaction putting 1 random key, 2PC commit
  txn4     optimistic transaction putting 4 random keys, 2PC commit
  scan     raw scan of --scan-length keys from a random record key
  all      every workload above, in this order

Options:
  --workload W         one of the above, or a comma-separated list (default all)
  --concurrency N      closed-loop workers (default 16)
  --duration D         run each workload for D (e.g. 10s, 500ms, 1m; default 10s)
  --count N            run each workload for N operations instead of a duration
  --key-size N         key length in bytes (default 16)
  --value-size N       value length in bytes (default 100)
  --records N          keys loaded before the workloads; reads and writes pick among them (default 10000)
  --scan-length N      keys per scan (default 10)
  --transport T        how the client reaches TiKV: batch (the BatchCommands stream, the client's
                       default), unary (one gRPC call per request), or both (each workload runs
                       with batch then unary against the same cluster, and the ratios are printed)
                       (default batch)
  --pd URL             use an existing cluster (e.g. the one \`npm start\` prints); default: start one
                       on free 127.0.0.1 ports with a temp data dir, stopped at the end
  --json FILE|-        write the results as JSON to FILE, or to stdout with -
  --compare-etcd       also run rawput, rawget, a, b, c against a single-member etcd started on
                       127.0.0.1 (needs Debian's etcd-server) and print the ratios tikv/etcd
  --help               this text
`;

const ALL = ['rawput', 'rawget', 'a', 'b', 'c', 'txn1', 'txn4', 'scan'];
const RAW = new Set(['rawput', 'rawget', 'a', 'b', 'c']);

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) throw new Error(`--duration: cannot read "${s}" (e.g. 10s, 500ms, 1m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60000 : n * 1000;
}

function positiveInt(name, s) {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name}: expected a positive integer, got "${s}"`);
  return n;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      workload: { type: 'string', default: 'all' },
      concurrency: { type: 'string', default: '16' },
      duration: { type: 'string' },
      count: { type: 'string' },
      'key-size': { type: 'string', default: '16' },
      'value-size': { type: 'string', default: '100' },
      records: { type: 'string', default: '10000' },
      'scan-length': { type: 'string', default: '10' },
      pd: { type: 'string' },
      transport: { type: 'string', default: 'batch' },
      json: { type: 'string' },
      'compare-etcd': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true };
  const workloads =
    values.workload === 'all' ? ALL : values.workload.split(',').map((w) => w.trim());
  for (const w of workloads)
    if (!ALL.includes(w))
      throw new Error(`--workload: unknown "${w}" (one of ${ALL.join(', ')}, all)`);
  if (!['batch', 'unary', 'both'].includes(values.transport))
    throw new Error(`--transport: expected batch, unary or both, got "${values.transport}"`);
  if (values.duration !== undefined && values.count !== undefined)
    throw new Error('--duration and --count are exclusive');
  const opts = {
    workloads,
    concurrency: positiveInt('concurrency', values.concurrency),
    durationMs: values.count === undefined ? parseDuration(values.duration ?? '10s') : undefined,
    count: values.count === undefined ? undefined : positiveInt('count', values.count),
    keySize: positiveInt('key-size', values['key-size']),
    valueSize: positiveInt('value-size', values['value-size']),
    records: positiveInt('records', values.records),
    scanLength: positiveInt('scan-length', values['scan-length']),
    pd: values.pd,
    transport: values.transport,
    json: values.json,
    compareEtcd: values['compare-etcd'],
  };
  if (opts.keySize < 8) throw new Error('--key-size: at least 8');
  return opts;
}

let opts;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (opts.compareEtcd && !haveEtcd()) {
  console.error(
    '--compare-etcd: no `etcd` binary on the PATH. Install it with: sudo apt-get install etcd-server',
  );
  process.exit(2);
}

let client;
let grpc;
let proto;
try {
  client = require('@tikv-ts/client');
  grpc = require('@grpc/grpc-js');
  proto = require('@tikv-ts/proto');
} catch (e) {
  console.error(
    `Cannot load @tikv-ts/client (${e.message}).\nBuild first: NX_DAEMON=false npx nx run-many -t build --outputStyle=static`,
  );
  process.exit(1);
}
const { RawClient, TransactionClient, WriteConflictError, BatchCommandsTransport, GrpcTransport } =
  client;

// With --json - the results go to stdout: everything else goes to stderr.
const out = opts.json === '-' ? console.error : console.log;
const note = (s) => console.error(s);

// ---- keys and values -------------------------------------------------------------------------

const enc = new TextEncoder();
/** Record key i: a prefix then i zero-padded, `keySize` bytes in all (YCSB's "user…" keys). */
function keyOf(prefix, i) {
  const digits = String(i);
  const pad = opts.keySize - prefix.length;
  if (pad < digits.length)
    throw new Error(`--key-size ${opts.keySize} is too small for ${opts.records} records`);
  return enc.encode(prefix + digits.padStart(pad, '0'));
}
const RAW_PREFIX = 'r';
const TXN_PREFIX = 't';
/** The end of the raw record range (exclusive): every raw key starts with RAW_PREFIX. */
const RAW_END = enc.encode(String.fromCharCode(RAW_PREFIX.charCodeAt(0) + 1));
const value = new Uint8Array(opts.valueSize);
for (let i = 0; i < value.length; i++) value[i] = 0x61 + ((i * 7) % 26);
const rnd = (n) => Math.floor(Math.random() * n);
// Keys precomputed so that encoding does not count in the latencies.
const rawKeys = Array.from({ length: opts.records }, (_, i) => keyOf(RAW_PREFIX, i));
const txnKeys = Array.from({ length: opts.records }, (_, i) => keyOf(TXN_PREFIX, i));
const rawKey = () => rawKeys[rnd(opts.records)];

// ---- targets ---------------------------------------------------------------------------------

/**
 * The raw operations a workload needs, against TiKV, through one transport (`batch`: the
 * BatchCommands stream; `unary`: one gRPC call per request) shared by the raw and txn clients.
 */
async function tikvTarget(pdUrl, transportKind) {
  const transport = transportKind === 'batch' ? new BatchCommandsTransport() : new GrpcTransport();
  const raw = await RawClient.connect([pdUrl], { transport });
  const txn = await TransactionClient.connect([pdUrl], { transport });
  return {
    name: transportKind === 'batch' ? 'tikv' : 'tikv-unary',
    /** Requests per BatchCommands message so far (batch only). */
    batchStats: () => (transportKind === 'batch' ? transport.stats : undefined),
    get: (k) => raw.get(k),
    put: (k, v) => raw.put(k, v),
    loadBatch: (pairs) => raw.batchPut(pairs),
    scan: (k, n) => raw.scan(k, RAW_END, { limit: n }),
    txnPut: async (keys) => {
      const t = await txn.begin();
      try {
        for (const k of keys) await t.put(k, value);
        await t.commit();
      } catch (e) {
        await t.rollback().catch(() => undefined);
        throw e;
      }
    },
    close: async () => {
      await raw.close();
      await txn.close();
      transport.close();
    },
  };
}

/** The same raw operations against etcd v3 (Range / Put over gRPC). */
function etcdKv(endpoint) {
  const { etcdserverpb } = proto;
  const kv = new etcdserverpb.KVClient(endpoint, grpc.credentials.createInsecure());
  const call = (method, req) =>
    new Promise((resolveCall, reject) =>
      kv[method](req, (err, res) => (err ? reject(err) : resolveCall(res))),
    );
  return {
    name: 'etcd',
    get: async (k) =>
      (await call('range', etcdserverpb.RangeRequest.fromPartial({ key: k }))).kvs[0]?.value,
    put: (k, v) => call('put', etcdserverpb.PutRequest.fromPartial({ key: k, value: v })),
    loadBatch: async (pairs) => {
      for (const p of pairs) await call('put', etcdserverpb.PutRequest.fromPartial(p));
    },
    close: async () => kv.close(),
  };
}

// ---- the run loop ----------------------------------------------------------------------------

const isTty = process.stderr.isTTY === true;

/** A progress bar on a TTY stderr, a line every 2 s otherwise. */
function progress(label, total, unit) {
  const started = performance.now();
  let lastLine = started;
  let shown = false;
  return {
    tick(done, ops) {
      const now = performance.now();
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? Math.round(ops / elapsed) : 0;
      const frac = Math.min(1, done / total);
      if (isTty) {
        const width = 30;
        const filled = Math.round(frac * width);
        process.stderr.write(
          `\r${label.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${ops} ops  ${rate} ops/s   `,
        );
        shown = true;
      } else if (now - lastLine >= 2000) {
        lastLine = now;
        process.stderr.write(
          `${label}: ${Math.round(frac * 100)}% (${unit === 'ms' ? `${elapsed.toFixed(1)} s` : `${done} ops`}), ${ops} ops, ${rate} ops/s\n`,
        );
      }
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

let interrupted = false;

/**
 * Runs `op(worker)` with opts.concurrency closed-loop workers for the duration or count; `op`
 * resolves with the name of the operation it did (e.g. 'read'), whose latency goes to that
 * name's histogram. Errors are counted per operation, not retried.
 */
async function runClosedLoop(label, op) {
  const hists = new Map();
  const errors = new Map();
  let ops = 0;
  let issued = 0;
  const start = performance.now();
  const end = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const total = opts.durationMs ?? opts.count;
  const bar = progress(label, total, opts.durationMs === undefined ? 'ops' : 'ms');
  const timer = setInterval(
    () => bar.tick(opts.durationMs === undefined ? ops : performance.now() - start, ops),
    isTty ? 200 : 500,
  );
  const more = () =>
    !interrupted && (opts.count === undefined ? performance.now() < end : issued < opts.count);
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, w) => {
      while (more()) {
        issued++;
        const t0 = performance.now();
        let name;
        try {
          name = await op(w);
        } catch (e) {
          const kind = `${e?.opName ?? 'op'}${e instanceof WriteConflictError ? ' write-conflict' : ''}`;
          const entry = errors.get(kind) ?? {
            count: 0,
            first: String(e?.cause?.message ?? e?.message ?? e),
          };
          entry.count++;
          errors.set(kind, entry);
          continue;
        }
        const us = (performance.now() - t0) * 1000;
        let h = hists.get(name);
        if (h === undefined) hists.set(name, (h = new Histogram()));
        h.record(us);
        ops++;
      }
    }),
  );
  clearInterval(timer);
  bar.done();
  const seconds = (performance.now() - start) / 1000;
  const all = new Histogram();
  for (const h of hists.values()) all.merge(h);
  const perOp = {};
  for (const [name, h] of [...hists].sort())
    perOp[name] = { opsPerSec: round(h.count / seconds), ...h.summary() };
  return {
    seconds: round(seconds, 3),
    ops,
    opsPerSec: round(ops / seconds),
    latency: all.summary(),
    perOp,
    errors: Object.fromEntries(errors),
  };
}

const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Tags an error with the operation it came from. */
const tagged = (opName, p) =>
  p.then(
    () => opName,
    (e) => {
      const err = e instanceof Error ? e : new Error(String(e));
      err.opName = opName;
      throw err;
    },
  );

function workloadOp(target, w) {
  const mix = (readShare) => () =>
    Math.random() < readShare
      ? tagged('read', target.get(rawKey()))
      : tagged('update', target.put(rawKey(), value));
  switch (w) {
    case 'rawput':
      return () => tagged('put', target.put(rawKey(), value));
    case 'rawget':
      return () => tagged('get', target.get(rawKey()));
    case 'a':
      return mix(0.5);
    case 'b':
      return mix(0.95);
    case 'c':
      return mix(1);
    case 'txn1':
    case 'txn4': {
      const n = w === 'txn1' ? 1 : 4;
      return () => {
        const keys = new Set();
        while (keys.size < Math.min(n, opts.records)) keys.add(rnd(opts.records));
        return tagged('txn', target.txnPut([...keys].map((i) => txnKeys[i])));
      };
    }
    case 'scan':
      return () => tagged('scan', target.scan(rawKey(), opts.scanLength));
    default:
      throw new Error(`unknown workload ${w}`);
  }
}

async function load(target) {
  const batch = 256;
  const chunks = [];
  for (let i = 0; i < opts.records; i += batch)
    chunks.push(rawKeys.slice(i, i + batch).map((key) => ({ key, value })));
  let next = 0;
  let done = 0;
  const bar = progress(`load ${target.name}`, opts.records, 'ops');
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, chunks.length) }, async () => {
      while (next < chunks.length && !interrupted) {
        await target.loadBatch(chunks[next++]);
        done++;
        bar.tick(Math.min(opts.records, done * batch), Math.min(opts.records, done * batch));
      }
    }),
  );
  bar.done();
  note(
    `loaded ${opts.records} records into ${target.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/**
 * Runs every workload on every target, interleaved (workload by workload) so that targets
 * compared in one run see about the same machine load; returns one result map per target.
 */
async function runAll(targets, workloads) {
  const results = targets.map(() => ({}));
  for (const w of workloads) {
    for (const [i, target] of targets.entries()) {
      if (interrupted) break;
      const r = await runClosedLoop(`${target.name} ${w}`, workloadOp(target, w));
      results[i][w] = r;
      printResult(target.name, w, r);
    }
  }
  return results;
}

/** Prints and returns the ratios a/b of ops/s and of p99 latency for the workloads both ran. */
function ratios(title, a, b, workloads) {
  const out_ = {};
  out(`\n${title} (ops/s; p99 latency):`);
  for (const w of workloads) {
    const x = a[w];
    const y = b[w];
    if (x === undefined || y === undefined || y.opsPerSec === 0) continue;
    const ratio = {
      opsPerSec: round(x.opsPerSec / y.opsPerSec, 2),
      p99: y.latency.p99Ms > 0 ? round(x.latency.p99Ms / y.latency.p99Ms, 2) : null,
    };
    out_[w] = ratio;
    out(`  ${w.padEnd(6)} throughput x${ratio.opsPerSec}  p99 x${ratio.p99}`);
  }
  return out_;
}

// ---- output ----------------------------------------------------------------------------------

function printResult(system, w, r) {
  const fmt = (s) =>
    `p50 ${s.p50Ms.toFixed(2)}  p95 ${s.p95Ms.toFixed(2)}  p99 ${s.p99Ms.toFixed(2)}  max ${s.maxMs.toFixed(2)} ms`;
  out(
    `${system.padEnd(10)} ${w.padEnd(6)} ${String(r.opsPerSec).padStart(9)} ops/s  (${r.ops} ops in ${r.seconds} s)  ${fmt(r.latency)}`,
  );
  const names = Object.keys(r.perOp);
  if (names.length > 1)
    for (const n of names)
      out(
        `            ${n.padEnd(7)} ${String(r.perOp[n].opsPerSec).padStart(9)} ops/s  ${fmt(r.perOp[n])}`,
      );
  for (const [n, e] of Object.entries(r.errors))
    out(`            ${n} errors: ${e.count} (first: ${e.first})`);
}

// ---- main ------------------------------------------------------------------------------------

const cleanups = [];
const kills = [];
let signals = 0;
function onSignal(name) {
  signals++;
  interrupted = true;
  if (signals > 1) {
    for (const k of kills) k();
    process.exit(130);
  }
  note(`\n${name}: stopping after the operations in flight (again to kill at once).`);
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
// Whatever ends the process (an uncaught error, a closed stdout pipe), the servers it started die with it.
process.on('exit', () => {
  for (const k of kills) k();
});
for (const stream of [process.stdout, process.stderr])
  stream.on('error', () => {
    interrupted = true;
  });

let exitCode = 0;
try {
  const config = {
    workloads: opts.workloads,
    concurrency: opts.concurrency,
    ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : { count: opts.count }),
    keySize: opts.keySize,
    valueSize: opts.valueSize,
    records: opts.records,
    scanLength: opts.scanLength,
  };
  let pdUrl = opts.pd;
  if (pdUrl === undefined) {
    note('starting a local cluster (pd-server + tikv-server) on free 127.0.0.1 ports...');
    const c = await startCluster(note, (k) => kills.push(k));
    cleanups.push(c.stop);
    pdUrl = c.pdUrl;
  }
  config.pd = pdUrl;
  out(
    `workloads ${opts.workloads.join(',')}; concurrency ${opts.concurrency}; ${opts.durationMs !== undefined ? `${opts.durationMs / 1000} s` : `${opts.count} ops`} each; key ${opts.keySize} B, value ${opts.valueSize} B, ${opts.records} records`,
  );
  config.transport = opts.transport;
  const kinds = opts.transport === 'both' ? ['batch', 'unary'] : [opts.transport];
  const targets = [];
  for (const kind of kinds) {
    const t = await tikvTarget(pdUrl, kind);
    cleanups.push(t.close);
    targets.push(t);
  }
  const tikv = targets[0];
  const needLoad = opts.workloads.some((w) => w !== 'rawput' && w !== 'txn1' && w !== 'txn4');
  if (needLoad && !interrupted) await load(tikv);
  const [first, second] = await runAll(targets, opts.workloads);
  const report = { config, tikv: first };
  if (second !== undefined) {
    report.tikvUnary = second;
    report.batchVsUnary = ratios('ratio batch/unary', first, second, opts.workloads);
  }
  const stats = targets.find((t) => t.batchStats() !== undefined)?.batchStats();
  if (stats !== undefined && stats.messagesSent > 0) {
    report.batchStats = {
      ...stats,
      requestsPerMessage: round(stats.requestsSent / stats.messagesSent, 2),
    };
    out(
      `\nbatch transport: ${stats.requestsSent} requests in ${stats.messagesSent} BatchCommands messages (${report.batchStats.requestsPerMessage} per message, load phase included), ${stats.streamsOpened} stream(s), ${stats.unaryCalls} unary calls`,
    );
  }

  if (opts.compareEtcd && !interrupted) {
    const rawWorkloads = opts.workloads.filter((w) => RAW.has(w));
    note('starting a single-member etcd on free 127.0.0.1 ports...');
    const etcd = await startEtcd(
      note,
      async (endpoint) => {
        const probe = etcdKv(endpoint);
        try {
          await Promise.race([
            probe.get(enc.encode('probe')),
            new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 1000)),
          ]);
          return true;
        } finally {
          await probe.close();
        }
      },
      (k) => kills.push(k),
    );
    cleanups.push(etcd.stop);
    const e = etcdKv(etcd.endpoint);
    cleanups.push(e.close);
    if (rawWorkloads.some((w) => w !== 'rawput') && !interrupted) await load(e);
    [report.etcd] = await runAll([e], rawWorkloads);
    report.ratios = ratios(`ratio ${tikv.name}/etcd`, report.tikv, report.etcd, rawWorkloads);
  }
  if (interrupted) report.interrupted = true;
  if (opts.json === '-') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (opts.json !== undefined) {
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    note(`results written to ${opts.json}`);
  }
} catch (e) {
  console.error(`bench: ${e?.stack ?? e}`);
  exitCode = 1;
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (e) {
      console.error(`bench: cleanup: ${e?.message ?? e}`);
    }
  }
}
process.exit(interrupted ? 130 : exitCode);
