/**
 * Configuration of a PD server. Field names are ours (camelCase with units); the TOML file and
 * the `/pd/api/v1/config` JSON use PD's names (`data-dir`, `[schedule] max-store-down-time` …).
 */
export interface PdConfig {
  /** Human-readable member name (PD's `--name`, default "pd"). */
  readonly name: string;
  /** Directory of the persisted state (PD's `--data-dir`). */
  readonly dataDir: string;
  /** URLs to listen on for clients: gRPC and HTTP on one port (PD's `--client-urls`). */
  readonly clientUrls: readonly string[];
  /** URLs announced to clients in GetMembers (default: `clientUrls`). */
  readonly advertiseClientUrls: readonly string[];
  /** Peer URLs (PD's `--peer-urls`); a single-member PD only announces them. */
  readonly peerUrls: readonly string[];
  /** Peer URLs announced in GetMembers (default: `peerUrls`). */
  readonly advertisePeerUrls: readonly string[];
  /** Length of the persisted TSO window (PD's `tso-save-interval`, default 3 s). */
  readonly tsoSaveIntervalMs: number;
  /** Period of the TSO update loop (PD's `tso-update-physical-interval`, default 50 ms). */
  readonly tsoUpdateIntervalMs: number;
  /** A store without heartbeat for this long is down (`[schedule] max-store-down-time`, default 30 min). */
  readonly maxStoreDownTimeMs: number;
  /** Replicas per region (`[replication] max-replicas`, default 3). */
  readonly maxReplicas: number;
  /** Label keys that describe topology (`[replication] location-labels`). */
  readonly locationLabels: readonly string[];
  /** Leader lease in seconds (PD's `lease`, default 3); reported only. */
  readonly leaseSec: number;
  /** Log level (`[log] level` / `--log-level`). */
  readonly logLevel: string;
  /** Log file (`[log.file] filename` / `--log-file`); empty: stderr. */
  readonly logFile: string;
}

/** PD's defaults. */
export function defaultPdConfig(): PdConfig {
  return {
    name: 'pd',
    dataDir: 'default.pd',
    clientUrls: ['http://127.0.0.1:2379'],
    advertiseClientUrls: [],
    peerUrls: ['http://127.0.0.1:2380'],
    advertisePeerUrls: [],
    tsoSaveIntervalMs: 3000,
    tsoUpdateIntervalMs: 50,
    maxStoreDownTimeMs: 30 * 60_000,
    maxReplicas: 3,
    locationLabels: [],
    leaseSec: 3,
    logLevel: 'info',
    logFile: '',
  };
}

/** Thrown for a configuration value PD cannot accept; the message names the key. */
export class PdConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PdConfigError';
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration ("3s", "30m0s", "1h30m", "500ms") into milliseconds.
 * @throws PdConfigError on a malformed duration
 */
export function parseDurationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  const s = text.trim();
  if (s === '0') return 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== s.length || !Number.isFinite(total)) throw new PdConfigError(`Invalid duration ${JSON.stringify(text)}`);
  return total;
}

/** Formats milliseconds as a Go duration string ("30m0s", "3s"), as PD prints them. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  if (s >= 1) return `${s}s`;
  return `${ms}ms`;
}

function urls(v: unknown, key: string): string[] {
  if (typeof v === 'string') return v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (Array.isArray(v) && v.every((u) => typeof u === 'string')) return v as string[];
  throw new PdConfigError(`${key} must be a string of comma-separated URLs`);
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string') throw new PdConfigError(`${key} must be a string`);
  return v;
}

function table(v: unknown, key: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PdConfigError(`[${key}] must be a table`);
  return v as Record<string, unknown>;
}

function duration(v: unknown, key: string): number {
  if (typeof v === 'number') return v * 1000;
  return parseDurationMs(str(v, key));
}

/**
 * Applies a parsed TOML document with PD's key names over `base`: top-level `name`, `data-dir`,
 * `client-urls`, `advertise-client-urls`, `peer-urls`, `advertise-peer-urls`, `lease`,
 * `tso-save-interval`, `tso-update-physical-interval`, `[log] level`, `[log.file] filename`,
 * `[schedule] max-store-down-time`, `[replication] max-replicas`, `location-labels`.
 * Unknown keys are ignored (PD warns about them).
 * @throws PdConfigError on a value of the wrong type or shape
 */
export function applyPdToml(base: PdConfig, doc: Record<string, unknown>): PdConfig {
  const c: { -readonly [K in keyof PdConfig]: PdConfig[K] } = { ...base };
  if (doc['name'] !== undefined) c.name = str(doc['name'], 'name');
  if (doc['data-dir'] !== undefined) c.dataDir = str(doc['data-dir'], 'data-dir');
  if (doc['client-urls'] !== undefined) c.clientUrls = urls(doc['client-urls'], 'client-urls');
  if (doc['advertise-client-urls'] !== undefined) c.advertiseClientUrls = urls(doc['advertise-client-urls'], 'advertise-client-urls');
  if (doc['peer-urls'] !== undefined) c.peerUrls = urls(doc['peer-urls'], 'peer-urls');
  if (doc['advertise-peer-urls'] !== undefined) c.advertisePeerUrls = urls(doc['advertise-peer-urls'], 'advertise-peer-urls');
  if (doc['lease'] !== undefined) {
    if (typeof doc['lease'] !== 'number') throw new PdConfigError('lease must be a number of seconds');
    c.leaseSec = doc['lease'];
  }
  if (doc['tso-save-interval'] !== undefined) c.tsoSaveIntervalMs = duration(doc['tso-save-interval'], 'tso-save-interval');
  if (doc['tso-update-physical-interval'] !== undefined) {
    c.tsoUpdateIntervalMs = duration(doc['tso-update-physical-interval'], 'tso-update-physical-interval');
  }
  const log = table(doc['log'], 'log');
  if (log['level'] !== undefined) c.logLevel = str(log['level'], 'log.level');
  const file = table(log['file'], 'log.file');
  if (file['filename'] !== undefined) c.logFile = str(file['filename'], 'log.file.filename');
  const schedule = table(doc['schedule'], 'schedule');
  if (schedule['max-store-down-time'] !== undefined) {
    c.maxStoreDownTimeMs = duration(schedule['max-store-down-time'], 'schedule.max-store-down-time');
  }
  const replication = table(doc['replication'], 'replication');
  if (replication['max-replicas'] !== undefined) {
    const n = replication['max-replicas'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new PdConfigError('replication.max-replicas must be a positive integer');
    c.maxReplicas = n;
  }
  if (replication['location-labels'] !== undefined) {
    const l = replication['location-labels'];
    if (!Array.isArray(l) || !l.every((x) => typeof x === 'string')) throw new PdConfigError('replication.location-labels must be an array of strings');
    c.locationLabels = l as string[];
  }
  if (c.tsoSaveIntervalMs < 2) throw new PdConfigError('tso-save-interval must be at least 2ms');
  return c;
}

/** The client URLs announced to clients: `advertiseClientUrls`, or `clientUrls` when empty. */
export function effectiveClientUrls(config: PdConfig): readonly string[] {
  return config.advertiseClientUrls.length > 0 ? config.advertiseClientUrls : config.clientUrls;
}

/** The peer URLs announced: `advertisePeerUrls`, or `peerUrls` when empty. */
export function effectivePeerUrls(config: PdConfig): readonly string[] {
  return config.advertisePeerUrls.length > 0 ? config.advertisePeerUrls : config.peerUrls;
}

/** The configuration as PD's `/pd/api/v1/config` JSON shows it (PD's key names). */
export function pdConfigJson(config: PdConfig, maxReplicas: number): Record<string, unknown> {
  return {
    'client-urls': config.clientUrls.join(','),
    'peer-urls': config.peerUrls.join(','),
    'advertise-client-urls': effectiveClientUrls(config).join(','),
    'advertise-peer-urls': effectivePeerUrls(config).join(','),
    name: config.name,
    'data-dir': config.dataDir,
    'initial-cluster-state': 'new',
    lease: config.leaseSec,
    log: { level: config.logLevel, file: { filename: config.logFile } },
    'tso-save-interval': formatDurationMs(config.tsoSaveIntervalMs),
    'tso-update-physical-interval': formatDurationMs(config.tsoUpdateIntervalMs),
    schedule: {
      'max-store-down-time': formatDurationMs(config.maxStoreDownTimeMs),
      'leader-schedule-limit': 4,
      'region-schedule-limit': 2048,
      'replica-schedule-limit': 64,
      'merge-schedule-limit': 8,
    },
    replication: {
      'max-replicas': maxReplicas,
      'location-labels': config.locationLabels.join(','),
      'strictly-match-label': 'false',
      'enable-placement-rules': 'true',
      'isolation-level': '',
    },
    'pd-server': { 'use-region-storage': 'true', 'metric-storage': '' },
  };
}
