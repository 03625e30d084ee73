// Real pd-server and tikv-server processes for the process-level tests: free 127.0.0.1 ports,
// temporary data directories, output captured, always stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { coprocessor, kvrpcpb, tikvpb } from '@tikv-ts/proto';

const ROOT = resolve(__dirname, '..', '..');
export const PD_MAIN = join(ROOT, 'apps', 'pd-server', 'dist', 'main.js');
export const TIKV_MAIN = join(ROOT, 'apps', 'tikv-server', 'dist', 'main.js');

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/** Polls `cond` until true or the deadline (I/O-driven waits; no fixed sleeps). */
export async function eventually<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, limitMs = 15000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > limitMs) throw new Error(`Timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A temporary directory removed by {@link cleanupDirs}. */
const dirs: string[] = [];
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `tikv-ts-${prefix}-`));
  dirs.push(d);
  return d;
}
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A child process with its output captured. */
export class Proc {
  readonly child: ChildProcess;
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #done = false;

  constructor(
    readonly name: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (b: Buffer) => (this.out += b.toString()));
    this.child.stderr?.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((res) => {
      this.child.on('exit', (code, signal) => {
        this.#done = true;
        res({ code, signal });
      });
    });
  }

  get isRunning(): boolean {
    return !this.#done;
  }

  /** Waits until the output matches `re` (fails early if the process exits). */
  async waitFor(re: RegExp, limitMs = 20000): Promise<void> {
    await eventually(
      () => {
        if (re.test(this.out)) return true;
        if (!this.isRunning) throw new Error(`${this.name} exited before printing ${re}:\n${this.out}`);
        return false;
      },
      `${this.name} to print ${re}`,
      limitMs,
    );
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', limitMs = 15000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.isRunning) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A running pd-server. */
export interface PdProc {
  readonly proc: Proc;
  readonly url: string;
  readonly port: number;
}

export async function startPd(): Promise<PdProc> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new Proc('pd-server', [PD_MAIN, '--client-urls', url, '--data-dir', tempDir('pd'), '--log-level', 'warn']);
  await eventually(async () => (await fetch(`${url}/pd/api/v1/health`).then((r) => r.ok).catch(() => false)) || undefined, 'PD health');
  return { proc, url, port };
}

/** A running tikv-server. */
export interface TikvProc {
  readonly proc: Proc;
  readonly addr: string;
  readonly statusUrl: string;
  readonly dataDir: string;
}

export interface StartTikvOptions {
  readonly pdUrl: string;
  readonly dataDir?: string;
  readonly configToml?: string;
  readonly waitReady?: boolean;
  readonly port?: number;
  readonly statusPort?: number;
}

export async function startTikv(o: StartTikvOptions): Promise<TikvProc> {
  const port = o.port ?? (await freePort());
  const statusPort = o.statusPort ?? (await freePort());
  const dataDir = o.dataDir ?? tempDir('kv');
  const args = [TIKV_MAIN, '--addr', `127.0.0.1:${port}`, '--status-addr', `127.0.0.1:${statusPort}`, '--pd', o.pdUrl, '--data-dir', dataDir];
  if (o.configToml !== undefined) {
    const file = join(tempDir('cfg'), 'tikv.toml');
    writeFileSync(file, o.configToml);
    args.push('--config', file);
  }
  const proc = new Proc('tikv-server', args);
  if (o.waitReady !== false) await proc.waitFor(/TiKV is ready to serve/);
  return { proc, addr: `127.0.0.1:${port}`, statusUrl: `http://127.0.0.1:${statusPort}`, dataDir };
}

/** A region as the status server's `/regions` shows it. */
export interface RegionJson {
  id: string;
  start_key: string;
  end_key: string;
  region_epoch: { conf_ver: string; version: string };
  peers: { id: string; store_id: string }[];
}

/** The store's regions from its status server. */
export async function regionsOf(statusUrl: string): Promise<RegionJson[]> {
  const r = (await (await fetch(`${statusUrl}/regions`)).json()) as { regions: RegionJson[] };
  return r.regions;
}

/** A `kvrpcpb.Context` for a region. */
export function contextOf(r: RegionJson, patch: Partial<kvrpcpb.Context> = {}): kvrpcpb.Context {
  const peer = r.peers[0] as { id: string; store_id: string };
  return kvrpcpb.Context.fromPartial({
    regionId: BigInt(r.id),
    regionEpoch: { confVer: BigInt(r.region_epoch.conf_ver), version: BigInt(r.region_epoch.version) },
    peer: { id: BigInt(peer.id), storeId: BigInt(peer.store_id) },
    ...patch,
  });
}

/** The region containing `key` (boundary form, compared as bytes). */
export function regionFor(regions: readonly RegionJson[], key: Uint8Array): RegionJson {
  const hex = Buffer.from(key).toString('hex');
  const r = regions.find((x) => hex >= x.start_key && (x.end_key === '' || hex < x.end_key));
  if (r === undefined) throw new Error(`No region for ${hex}`);
  return r;
}

type TikvClientT = grpc.Client & Record<string, (req: unknown, opts: object, cb: (e: grpc.ServiceError | null, r: unknown) => void) => grpc.ClientUnaryCall>;
const TikvClientCtor = grpc.makeGenericClientConstructor(tikvpb.TikvService as unknown as grpc.ServiceDefinition, 'Tikv');

/** Request message types by method, so tests can pass partial objects. */
const REQUEST_TYPES: Partial<Record<keyof tikvpb.TikvServer, { fromPartial(o: object): unknown }>> = {
  rawGet: kvrpcpb.RawGetRequest,
  rawBatchGet: kvrpcpb.RawBatchGetRequest,
  rawPut: kvrpcpb.RawPutRequest,
  rawBatchPut: kvrpcpb.RawBatchPutRequest,
  rawDelete: kvrpcpb.RawDeleteRequest,
  rawBatchDelete: kvrpcpb.RawBatchDeleteRequest,
  rawScan: kvrpcpb.RawScanRequest,
  rawDeleteRange: kvrpcpb.RawDeleteRangeRequest,
  rawBatchScan: kvrpcpb.RawBatchScanRequest,
  rawGetKeyTtl: kvrpcpb.RawGetKeyTTLRequest,
  rawCompareAndSwap: kvrpcpb.RawCASRequest,
  rawChecksum: kvrpcpb.RawChecksumRequest,
  kvGet: kvrpcpb.GetRequest,
  kvBatchGet: kvrpcpb.BatchGetRequest,
  kvScan: kvrpcpb.ScanRequest,
  kvPrewrite: kvrpcpb.PrewriteRequest,
  kvCommit: kvrpcpb.CommitRequest,
  kvCleanup: kvrpcpb.CleanupRequest,
  kvBatchRollback: kvrpcpb.BatchRollbackRequest,
  kvScanLock: kvrpcpb.ScanLockRequest,
  kvResolveLock: kvrpcpb.ResolveLockRequest,
  kvGc: kvrpcpb.GCRequest,
  kvDeleteRange: kvrpcpb.DeleteRangeRequest,
  kvPessimisticLock: kvrpcpb.PessimisticLockRequest,
  kvPessimisticRollback: kvrpcpb.PessimisticRollbackRequest,
  kvCheckTxnStatus: kvrpcpb.CheckTxnStatusRequest,
  kvTxnHeartBeat: kvrpcpb.TxnHeartBeatRequest,
  kvCheckSecondaryLocks: kvrpcpb.CheckSecondaryLocksRequest,
  mvccGetByKey: kvrpcpb.MvccGetByKeyRequest,
  mvccGetByStartTs: kvrpcpb.MvccGetByStartTsRequest,
  unsafeDestroyRange: kvrpcpb.UnsafeDestroyRangeRequest,
  splitRegion: kvrpcpb.SplitRegionRequest,
  coprocessor: coprocessor.Request,
};

/** A kvproto-generated gRPC client of `tikvpb.Tikv`. */
export class TikvClient {
  readonly client: TikvClientT;

  constructor(addr: string, options: grpc.ClientOptions = {}) {
    this.client = new TikvClientCtor(addr, grpc.credentials.createInsecure(), options) as unknown as TikvClientT;
  }

  /** A unary call by method name (`'rawGet'`, `'kvPrewrite'`, …). */
  call<Res>(method: keyof tikvpb.TikvServer, req: unknown, deadlineMs = 10000): Promise<Res> {
    return new Promise((res, rej) => {
      const fn = this.client[method];
      if (fn === undefined) throw new Error(`No method ${method}`);
      const type = REQUEST_TYPES[method];
      const msg = type === undefined ? req : type.fromPartial(req as object);
      fn.call(this.client, msg, { deadline: Date.now() + deadlineMs }, (e, r) => (e !== null ? rej(e) : res(r as Res)));
    });
  }

  /** Opens a BatchCommands stream; `send` resolves with the responses of the given requests. */
  batch(): BatchStream {
    const stream = (this.client as unknown as { batchCommands(): grpc.ClientDuplexStream<tikvpb.BatchCommandsRequest, tikvpb.BatchCommandsResponse> }).batchCommands();
    return new BatchStream(stream);
  }

  close(): void {
    this.client.close();
  }
}

/** A BatchCommands stream with request-id bookkeeping. */
export class BatchStream {
  #nextId = 1n;
  readonly #waiting = new Map<bigint, (r: tikvpb.BatchCommandsResponse_Response) => void>();
  error: unknown;

  constructor(readonly stream: grpc.ClientDuplexStream<tikvpb.BatchCommandsRequest, tikvpb.BatchCommandsResponse>) {
    stream.on('data', (msg: tikvpb.BatchCommandsResponse) => {
      msg.requestIds.forEach((id, i) => {
        const w = this.#waiting.get(id);
        this.#waiting.delete(id);
        w?.(msg.responses[i] as tikvpb.BatchCommandsResponse_Response);
      });
    });
    stream.on('error', (e) => (this.error = e));
  }

  /** Sends the requests in one message; resolves with their responses in request order. */
  send(requests: tikvpb.BatchCommandsRequest_Request['cmd'][]): Promise<tikvpb.BatchCommandsResponse_Response['cmd'][]> {
    const ids = requests.map(() => this.#nextId++);
    const done = ids.map((id) => new Promise<tikvpb.BatchCommandsResponse_Response['cmd']>((res) => this.#waiting.set(id, (r) => res(r.cmd))));
    this.stream.write(tikvpb.BatchCommandsRequest.fromPartial({ requests: requests.map((cmd) => ({ cmd })), requestIds: ids }));
    return Promise.all(done);
  }

  end(): void {
    this.stream.end();
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
