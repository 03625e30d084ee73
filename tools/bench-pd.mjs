#!/usr/bin/env node
// Benchmark of PD's timestamp oracle over gRPC (a script, not a test; ARCHITECTURE.md "Testing").
//
// In one process and one run:
//   1. the ceiling: a bare grpc-js bidi echo service (no PD logic), driven exactly like the TSO;
//   2. an in-process PdServer (RocksDB data dir in a temp directory, the real SystemClock) served
//      on 127.0.0.1 through the same one-port dispatch the pd-server app uses;
// each with 1, 16 and 256 concurrent callers. A caller owns one Tso stream and sends a request
// (count = 1) only after the previous answer arrived (closed loop). Prints timestamps per second,
// p50/p99 latency, the ratio to the echo ceiling, and the synced TSO window writes made.
//
// Usage: npx nx build @tikv-ts/pd @tikv-ts/engine-rocks && node tools/bench-pd.mjs
// Env: BENCH_SECONDS (per phase, default 3).
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
let pdMod, rocksMod, protoMod, utilMod, utilNode, grpc;
try {
  pdMod = require(join(root, 'packages/pd/dist/index.js'));
  rocksMod = require(join(root, 'packages/engine-rocks/dist/index.js'));
  protoMod = require(join(root, 'packages/proto/dist/index.js'));
  utilMod = require(join(root, 'packages/util/dist/index.js'));
  utilNode = require(join(root, 'packages/util/dist/node/index.js'));
  grpc = require(join(root, 'node_modules/@grpc/grpc-js'));
} catch (e) {
  console.error('Build first: npx nx build @tikv-ts/pd @tikv-ts/engine-rocks\n', e);
  process.exit(1);
}
const { PdServer } = pdMod;
const { RocksEngine } = rocksMod;
const { pdpb } = protoMod;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CALLERS = [1, 16, 256];

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function listen(onConnection) {
  const server = net.createServer({ noDelay: true }, onConnection);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

/** Runs `callers` closed-loop callers, each on its own bidi stream made by `open()`. */
async function drive(open, makeRequest, callers) {
  const latenciesUs = [];
  let done = 0;
  let stop = false;
  const streams = [];
  const runs = [];
  const start = process.hrtime.bigint();
  for (let c = 0; c < callers; c++) {
    const stream = open();
    streams.push(stream);
    runs.push(
      new Promise((resolve, reject) => {
        let sentAt = 0n;
        const send = () => {
          if (stop) {
            resolve();
            return;
          }
          sentAt = process.hrtime.bigint();
          stream.write(makeRequest());
        };
        stream.on('data', () => {
          latenciesUs.push(Number(process.hrtime.bigint() - sentAt) / 1000);
          done++;
          send();
        });
        stream.on('error', (e) => (stop ? resolve() : reject(e)));
        send();
      }),
    );
  }
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stop = true;
  await Promise.all(runs);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const s of streams) s.cancel();
  latenciesUs.sort((a, b) => a - b);
  return { perSecond: done / seconds, p50Us: percentile(latenciesUs, 50), p99Us: percentile(latenciesUs, 99) };
}

async function main() {
  // The ceiling: an echo service with the same message sizes.
  const sample = Buffer.from(pdpb.TsoRequest.encode(pdpb.TsoRequest.fromPartial({ header: { clusterId: 7713021684048945271n }, count: 1 })).finish());
  const reply = Buffer.from(
    pdpb.TsoResponse.encode(
      pdpb.TsoResponse.fromPartial({ header: { clusterId: 7713021684048945271n }, count: 1, timestamp: { physical: 1795827819547n, logical: 12345n } }),
    ).finish(),
  );
  const identity = (b) => b;
  const echoDef = {
    echo: { path: '/bench.Echo/Echo', requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  };
  const echoServer = new grpc.Server();
  echoServer.addService(echoDef, {
    echo: (call) => {
      call.on('data', () => call.write(reply));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const echoPort = await new Promise((resolve, reject) =>
    echoServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const EchoClient = grpc.makeGenericClientConstructor(echoDef, 'Echo');
  const echoClient = new EchoClient(`127.0.0.1:${echoPort}`, grpc.credentials.createInsecure());

  const dir = await mkdtemp(join(tmpdir(), 'bench-pd-'));
  const engine = await RocksEngine.open({ path: join(dir, 'kv') });
  const pd = await PdServer.start({ engine, clock: new utilNode.SystemClock(), rng: new utilMod.SeededRng(1n), config: { name: 'bench' } });
  const { server, port } = await listen((s) => pd.handleConnection(s));
  const pdClient = new pdpb.PDClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const header = { clusterId: pd.clusterId, senderId: 0n };
  const tsoRequest = pdpb.TsoRequest.fromPartial({ header, count: 1 });

  console.log(`bench-pd: ${SECONDS}s per phase, closed-loop callers, one Tso stream each (node ${process.version})`);
  console.log('callers | echo ceiling /s | echo p99 ms | tso /s  | tso p50 ms | tso p99 ms | ratio tso/echo');
  const rows = [];
  for (const callers of CALLERS) {
    const echo = await drive(() => echoClient.echo(), () => sample, callers);
    const savesBefore = pd.tso.windowSaves;
    const tso = await drive(() => pdClient.tso(), () => tsoRequest, callers);
    const saves = pd.tso.windowSaves - savesBefore;
    rows.push({ callers, echo, tso, saves });
    console.log(
      `${String(callers).padStart(7)} | ${echo.perSecond.toFixed(0).padStart(15)} | ${(echo.p99Us / 1000).toFixed(2).padStart(11)} | ${tso.perSecond.toFixed(0).padStart(7)} | ${(tso.p50Us / 1000).toFixed(2).padStart(10)} | ${(tso.p99Us / 1000).toFixed(2).padStart(10)} | ${(tso.perSecond / echo.perSecond).toFixed(2).padStart(6)}   (${saves} window writes)`,
    );
  }
  pdClient.close();
  echoClient.close();
  await pd.close();
  await new Promise((r) => server.close(r));
  echoServer.forceShutdown();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
