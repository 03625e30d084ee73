// The grpc-js service definitions carry kvproto's method paths and streaming shapes, and they
// work end to end with grpc-js (a server on 127.0.0.1 with an ephemeral port, always shut down).
import * as grpc from '@grpc/grpc-js';
import { debugpb, keyspacepb, kvrpcpb, pdpb, tikvpb } from './index';

interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

function shape(def: MethodShape): [string, boolean, boolean] {
  return [def.path, def.requestStream, def.responseStream];
}

describe('service definitions', () => {
  it('tikvpb.Tikv', () => {
    const s = tikvpb.TikvService;
    expect(shape(s.rawGet)).toEqual(['/tikvpb.Tikv/RawGet', false, false]);
    expect(shape(s.rawBatchScan)).toEqual(['/tikvpb.Tikv/RawBatchScan', false, false]);
    expect(shape(s.rawCompareAndSwap)).toEqual(['/tikvpb.Tikv/RawCompareAndSwap', false, false]);
    expect(shape(s.kvPrewrite)).toEqual(['/tikvpb.Tikv/KvPrewrite', false, false]);
    expect(shape(s.kvPessimisticRollback)).toEqual([
      '/tikvpb.Tikv/KVPessimisticRollback',
      false,
      false,
    ]);
    expect(shape(s.kvCheckSecondaryLocks)).toEqual([
      '/tikvpb.Tikv/KvCheckSecondaryLocks',
      false,
      false,
    ]);
    expect(shape(s.unsafeDestroyRange)).toEqual(['/tikvpb.Tikv/UnsafeDestroyRange', false, false]);
    expect(shape(s.splitRegion)).toEqual(['/tikvpb.Tikv/SplitRegion', false, false]);
    expect(shape(s.batchCommands)).toEqual(['/tikvpb.Tikv/BatchCommands', true, true]);
    expect(shape(s.raft)).toEqual(['/tikvpb.Tikv/Raft', true, false]);
    expect(shape(s.batchRaft)).toEqual(['/tikvpb.Tikv/BatchRaft', true, false]);
    expect(shape(s.snapshot)).toEqual(['/tikvpb.Tikv/Snapshot', true, false]);
    expect(shape(s.coprocessorStream)).toEqual(['/tikvpb.Tikv/CoprocessorStream', false, true]);
    expect(shape(s.mvccGetByKey)).toEqual(['/tikvpb.Tikv/MvccGetByKey', false, false]);
  });

  it('pdpb.PD', () => {
    const s = pdpb.PDService;
    expect(shape(s.tso)).toEqual(['/pdpb.PD/Tso', true, true]);
    expect(shape(s.regionHeartbeat)).toEqual(['/pdpb.PD/RegionHeartbeat', true, true]);
    expect(shape(s.getMembers)).toEqual(['/pdpb.PD/GetMembers', false, false]);
    expect(shape(s.getRegion)).toEqual(['/pdpb.PD/GetRegion', false, false]);
    expect(shape(s.getPrevRegion)).toEqual(['/pdpb.PD/GetPrevRegion', false, false]);
    expect(shape(s.batchScanRegions)).toEqual(['/pdpb.PD/BatchScanRegions', false, false]);
    expect(shape(s.allocId)).toEqual(['/pdpb.PD/AllocID', false, false]);
    expect(shape(s.askBatchSplit)).toEqual(['/pdpb.PD/AskBatchSplit', false, false]);
    expect(shape(s.updateServiceGcSafePoint)).toEqual([
      '/pdpb.PD/UpdateServiceGCSafePoint',
      false,
      false,
    ]);
    expect(shape(s.getClusterInfo)).toEqual(['/pdpb.PD/GetClusterInfo', false, false]);
  });

  it('keyspacepb.Keyspace and debugpb.Debug', () => {
    expect(shape(keyspacepb.KeyspaceService.loadKeyspace)).toEqual([
      '/keyspacepb.Keyspace/LoadKeyspace',
      false,
      false,
    ]);
    expect(shape(debugpb.DebugService.get)).toEqual(['/debugpb.Debug/Get', false, false]);
    expect(shape(debugpb.DebugService.raftLog)).toEqual(['/debugpb.Debug/RaftLog', false, false]);
    expect(shape(debugpb.DebugService.regionInfo)).toEqual([
      '/debugpb.Debug/RegionInfo',
      false,
      false,
    ]);
    expect(shape(debugpb.DebugService.scanMvcc)).toEqual(['/debugpb.Debug/ScanMvcc', false, true]);
    expect(shape(debugpb.DebugService.getMetrics)).toEqual([
      '/debugpb.Debug/GetMetrics',
      false,
      false,
    ]);
  });
});

describe('grpc-js end to end', () => {
  let server: grpc.Server;
  let client: InstanceType<typeof tikvpb.TikvClient>;

  beforeAll(async () => {
    server = new grpc.Server();
    const impl: Partial<tikvpb.TikvServer> = {
      rawGet(call, callback) {
        callback(null, kvrpcpb.RawGetResponse.create({ value: call.request.key, notFound: false }));
      },
      batchCommands(call) {
        call.on('data', (req: tikvpb.BatchCommandsRequest) => {
          call.write(
            tikvpb.BatchCommandsResponse.create({
              requestIds: req.requestIds,
              responses: req.requests.map((r) => ({
                cmd:
                  r.cmd?.$case === 'RawGet'
                    ? { $case: 'RawGet', value: { value: r.cmd.value.key } }
                    : undefined,
              })),
            }),
          );
        });
        call.on('end', () => call.end());
      },
    };
    // Methods without an implementation answer UNIMPLEMENTED.
    server.addService(tikvpb.TikvService, impl as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new tikvpb.TikvClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('serves a unary RawGet', async () => {
    const resp = await new Promise<kvrpcpb.RawGetResponse>((resolve, reject) =>
      client.rawGet(kvrpcpb.RawGetRequest.create({ key: new Uint8Array([1, 2, 3]) }), (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    expect(resp.value).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('answers UNIMPLEMENTED for a method without a handler', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.rawPut(kvrpcpb.RawPutRequest.create({}), (e) => resolve(e)),
    );
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('echoes request ids over the BatchCommands bidi stream', async () => {
    const stream = client.batchCommands();
    const first = new Promise<tikvpb.BatchCommandsResponse>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write(
      tikvpb.BatchCommandsRequest.create({
        requests: [{ cmd: { $case: 'RawGet', value: { key: new Uint8Array([9]) } } }],
        requestIds: [18446744073709551615n],
      }),
    );
    const resp = await first;
    stream.end();
    expect(resp.requestIds).toEqual([18446744073709551615n]);
    const cmd = resp.responses[0]?.cmd;
    expect(cmd?.$case).toBe('RawGet');
    expect(cmd?.$case === 'RawGet' ? cmd.value.value : undefined).toEqual(new Uint8Array([9]));
  });
});
