import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ClusterState } from '../cluster';
import { toJsonText } from '../http-api';
import { composeTso, type TsoAllocator } from '../tso';
import { summarizeHistogram, type HistogramSummary } from './prom-text';

/** Options of the dashboard ({@link registerDashboard}). */
export interface DashboardOptions {
  /** Absolute path of the folder holding the page (`index.html`, scripts, styles), served under `/dashboard/`. */
  readonly root: string;
  /** Fetches one store's metrics text (default: global `fetch` of `http://<status address>/metrics`). */
  readonly fetchMetrics?: (statusAddress: string) => Promise<string>;
  /** Time allowed for one store's scrape, ms (default 1500). */
  readonly scrapeTimeoutMs?: number;
}

/** What the dashboard reads from PD (implemented by {@link PdServer}). */
export interface DashboardCore {
  readonly clusterId: bigint;
  readonly cluster: ClusterState;
  readonly tso: TsoAllocator;
  readonly member: { name: string; clientUrls: string[] };
  /** PD's own Prometheus text. */
  metricsText(): Promise<string>;
  /** Wall-clock ms. */
  nowMs(): number;
}

/** The request metrics of one server as the overview reports them. */
interface SourceJson {
  name: string;
  kind: 'pd' | 'tikv';
  store_id?: bigint;
  address: string;
  ok: boolean;
  error?: string;
  requests?: ReturnType<typeof histogramJson>;
}

function histogramJson(h: HistogramSummary): Record<string, unknown> {
  return {
    count: h.count,
    sum_seconds: h.sum,
    buckets: h.buckets.map(([le, c]) => [Number.isFinite(le) ? le : '+Inf', c]),
    by_type: h.byLabel,
  };
}

async function defaultFetchMetrics(statusAddress: string, timeoutMs: number): Promise<string> {
  const url = /^https?:\/\//.test(statusAddress)
    ? `${statusAddress}/metrics`
    : `http://${statusAddress}/metrics`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

/**
 * Adds the dashboard to PD's HTTP API (before it is ready): the page's static files under
 * `/dashboard/` (`/` and `/dashboard` redirect there), and `GET /pd/api/v1/dashboard/overview`,
 * the JSON the page needs beyond PD's API:
 *
 * - `tso`: a timestamp freshly allocated from the TSO (`physical` ms, `logical`, composed `ts`),
 *   as a decimal string, exact), the persisted window end and the number of window saves;
 * - `sources`: cumulative request metrics of PD (`grpc_server_handling_seconds`) and of every
 *   store that is not a tombstone and has a status address (`tikv_grpc_msg_duration_seconds`
 *   scraped from `<status address>/metrics`): count, sum of seconds, cumulative buckets, counts
 *   by request type. The page derives requests per second and latency from two samples. A store
 *   that cannot be scraped is listed with `ok: false` and the error.
 */
export async function registerDashboard(
  app: FastifyInstance,
  core: DashboardCore,
  options: DashboardOptions,
): Promise<void> {
  const timeoutMs = options.scrapeTimeoutMs ?? 1500;
  const fetchMetrics =
    options.fetchMetrics ?? ((addr: string) => defaultFetchMetrics(addr, timeoutMs));
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/dashboard/',
    redirect: true,
    index: ['index.html'],
  });
  app.get('/', (_req, reply) => reply.redirect('/dashboard/'));

  app.get('/pd/api/v1/dashboard/overview', async (_req, reply) => {
    const ts = await core.tso.getTimestamp(1);
    const sources: SourceJson[] = [];
    const pdAddress = core.member.clientUrls[0] ?? '';
    try {
      const h = summarizeHistogram(
        await core.metricsText(),
        'grpc_server_handling_seconds',
        'grpc_method',
      );
      sources.push({
        name: `PD ${core.member.name}`,
        kind: 'pd',
        address: pdAddress,
        ok: true,
        requests: histogramJson(h),
      });
    } catch (e: unknown) {
      sources.push({
        name: `PD ${core.member.name}`,
        kind: 'pd',
        address: pdAddress,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
      });
    }
    const stores = core.cluster.isBootstrapped ? core.cluster.getAllStores(true) : [];
    const scraped = await Promise.all(
      stores
        .filter((s) => s.meta.statusAddress !== '')
        .map(async (s): Promise<SourceJson> => {
          const base = {
            name: `store ${s.meta.id}`,
            kind: 'tikv' as const,
            store_id: s.meta.id,
            address: s.meta.statusAddress,
          };
          try {
            const h = summarizeHistogram(
              await fetchMetrics(s.meta.statusAddress),
              'tikv_grpc_msg_duration_seconds',
              'type',
            );
            return { ...base, ok: true, requests: histogramJson(h) };
          } catch (e: unknown) {
            return { ...base, ok: false, error: e instanceof Error ? e.message : String(e) };
          }
        }),
    );
    sources.push(...scraped);
    const body = {
      cluster_id: core.clusterId,
      now_ms: core.nowMs(),
      bootstrapped: core.cluster.isBootstrapped,
      tso: {
        physical: ts.physicalMs,
        logical: ts.logical,
        ts: composeTso(ts).toString(),
        window_end_ms: core.tso.windowEndMs,
        window_saves: core.tso.windowSaves,
      },
      sources,
    };
    return reply
      .type('application/json; charset=UTF-8')
      .header('cache-control', 'no-store')
      .send(toJsonText(body));
  });
}
