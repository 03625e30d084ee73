import { TomlError, parse as parseToml } from 'smol-toml';
import { ConfigError, type ConfigIssue } from './errors';
import type { FileSystem } from './fs';
import { formatDuration, formatSize, parseDuration, parseSize } from './readable';

interface FieldCommon<T> {
  /** The TOML key; default: the property name in kebab-case (`raftBaseTickInterval` → `raft-base-tick-interval`). */
  readonly key?: string;
  /** One line describing the key (for docs and `tikv-server --config-info`). */
  readonly doc?: string;
  /** Extra check after type and range checks; returns a problem description or undefined. */
  validate?(value: T): string | undefined;
}

/** A string key. */
export interface StringField extends FieldCommon<string> {
  readonly kind: 'string';
  readonly default: string;
}
/** A safe-integer key (TOML integer). */
export interface IntField extends FieldCommon<number> {
  readonly kind: 'int';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}
/** A floating-point key (TOML float or integer). */
export interface FloatField extends FieldCommon<number> {
  readonly kind: 'float';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}
/** A boolean key. */
export interface BoolField extends FieldCommon<boolean> {
  readonly kind: 'bool';
  readonly default: boolean;
}
/** A duration key written like `"10s"`; the loaded value is in milliseconds. */
export interface DurationField extends FieldCommon<number> {
  readonly kind: 'duration';
  /** Milliseconds. */
  readonly default: number;
  readonly minMs?: number;
  readonly maxMs?: number;
}
/** A size key written like `"128MiB"` (or a byte count); the loaded value is in bytes. */
export interface SizeField extends FieldCommon<number> {
  readonly kind: 'size';
  /** Bytes. */
  readonly default: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
}
/** A key whose value is one of a fixed set of strings. */
export interface EnumField<V extends string = string> extends FieldCommon<V> {
  readonly kind: 'enum';
  readonly values: readonly V[];
  readonly default: V;
}
/** A uint64-style key loaded as a bigint (TOML integer, or a decimal string for values above 2^63-1). */
export interface BigintField extends FieldCommon<bigint> {
  readonly kind: 'bigint';
  readonly default: bigint;
  readonly min?: bigint;
  readonly max?: bigint;
}
/** An array of strings (e.g. `pd.endpoints`). */
export interface StringArrayField extends FieldCommon<readonly string[]> {
  readonly kind: 'string-array';
  readonly default: readonly string[];
}

/** Any leaf key of a schema. */
export type ConfigField = StringField | IntField | FloatField | BoolField | DurationField | SizeField | EnumField | BigintField | StringArrayField;

/** A TOML table of the schema. */
export interface ConfigSection<F extends ConfigFields = ConfigFields> {
  readonly kind: 'section';
  /** The TOML table name; default: the property name in kebab-case. */
  readonly key?: string;
  readonly doc?: string;
  readonly fields: F;
}

/** The keys and tables of a section, by TypeScript property name. */
export interface ConfigFields {
  readonly [name: string]: ConfigField | ConfigSection;
}

/** The loaded value of a field. */
export type ConfigValue<F> = F extends ConfigSection<infer G>
  ? ConfigOf<G>
  : F extends EnumField<infer V>
    ? V
    : F extends StringField
      ? string
      : F extends BoolField
        ? boolean
        : F extends BigintField
          ? bigint
          : F extends StringArrayField
            ? readonly string[]
            : F extends IntField | FloatField | DurationField | SizeField
              ? number
              : never;

/** The loaded (typed, read-only) configuration of a set of fields. */
export type ConfigOf<F extends ConfigFields> = { readonly [K in keyof F]: ConfigValue<F[K]> };

/** A whole configuration schema (the root section). */
export type ConfigSchema<F extends ConfigFields = ConfigFields> = ConfigSection<F>;

type Common<T> = FieldCommon<T>;

/**
 * Builders of schema fields. Durations and sizes take TiKV's readable strings (`'10s'`,
 * `'96MiB'`) or numbers (ms, bytes) and are checked eagerly.
 */
export const cfg = {
  string: (o: { default: string } & Common<string>): StringField => ({ kind: 'string', ...o }),
  int: (o: { default: number; min?: number; max?: number } & Common<number>): IntField => ({ kind: 'int', ...o }),
  float: (o: { default: number; min?: number; max?: number } & Common<number>): FloatField => ({ kind: 'float', ...o }),
  bool: (o: { default: boolean } & Common<boolean>): BoolField => ({ kind: 'bool', ...o }),
  duration: (o: { default: string | number; min?: string | number; max?: string | number } & Common<number>): DurationField => {
    const { min, max, default: d, ...rest } = o;
    return {
      kind: 'duration',
      ...rest,
      default: toMs(d),
      ...(min === undefined ? {} : { minMs: toMs(min) }),
      ...(max === undefined ? {} : { maxMs: toMs(max) }),
    };
  },
  size: (o: { default: string | number; min?: string | number; max?: string | number } & Common<number>): SizeField => {
    const { min, max, default: d, ...rest } = o;
    return {
      kind: 'size',
      ...rest,
      default: toBytes(d),
      ...(min === undefined ? {} : { minBytes: toBytes(min) }),
      ...(max === undefined ? {} : { maxBytes: toBytes(max) }),
    };
  },
  enumOf: <const V extends string>(values: readonly V[], o: { default: NoInfer<V> } & Common<V>): EnumField<V> => {
    if (!values.includes(o.default)) throw new TypeError(`Enum default "${o.default}" is not one of ${values.join(', ')}`);
    return { kind: 'enum', values, ...o };
  },
  bigint: (o: { default: bigint; min?: bigint; max?: bigint } & Common<bigint>): BigintField => ({ kind: 'bigint', ...o }),
  stringArray: (o: { default: readonly string[] } & Common<readonly string[]>): StringArrayField => ({ kind: 'string-array', ...o }),
  section: <F extends ConfigFields>(fields: F, o: { key?: string; doc?: string } = {}): ConfigSection<F> => ({ kind: 'section', fields, ...o }),
} as const;

function toMs(v: string | number): number {
  return typeof v === 'number' ? v : parseDuration(v);
}

function toBytes(v: string | number): number {
  return typeof v === 'number' ? v : parseSize(v);
}

/**
 * Declares a configuration schema: the root's fields (keys and `cfg.section` tables). Returns
 * it typed, for {@link loadConfig}.
 */
export function defineConfig<F extends ConfigFields>(fields: F): ConfigSchema<F> {
  return { kind: 'section', fields };
}

/** `raftBaseTickInterval` → `raft-base-tick-interval` (TiKV's kebab-case keys). */
export function toKebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The TOML text of the config file. */
  toml?: string;
  /**
   * Values that win over the file (command-line flags), shaped like the TOML (nested tables) or
   * with dotted keys (`{ 'server.addr': '127.0.0.1:20160' }`); property names may be kebab-case
   * TOML keys or the schema's camelCase names. Strings are accepted for numbers and booleans.
   */
  overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Loads a configuration: defaults, then the TOML, then the overrides. Pure (no I/O).
 * @throws ConfigError listing every unknown key, wrong type, out-of-range value or TOML syntax
 *   error, each with its full key path (`Unknown config key "raftstore.foo"`)
 */
export function loadConfig<F extends ConfigFields>(schema: ConfigSchema<F>, options: LoadConfigOptions = {}): ConfigOf<F> {
  let table: Record<string, unknown> = {};
  if (options.toml !== undefined) {
    try {
      table = parseToml(options.toml, { integersAsBigInt: true }) as Record<string, unknown>;
    } catch (e: unknown) {
      if (e instanceof TomlError) {
        const first = e.message.split('\n')[0] ?? e.message;
        throw new ConfigError({ keyPath: '', message: `Invalid TOML at line ${e.line}, column ${e.column}: ${first}` }, { cause: e });
      }
      throw e;
    }
  }
  const issues: ConfigIssue[] = [];
  const overrides = options.overrides === undefined ? undefined : expandDotted(options.overrides, issues);
  const out = loadSection(schema.fields, table, overrides, '', issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return out as ConfigOf<F>;
}

/** The configuration with every key at its default. */
export function configDefaults<F extends ConfigFields>(schema: ConfigSchema<F>): ConfigOf<F> {
  return loadConfig(schema);
}

/**
 * Reads a TOML file through `fs` and loads it (see {@link loadConfig}).
 * @throws ConfigError when the file cannot be read (the cause is the I/O error) or is invalid
 */
export async function loadConfigFile<F extends ConfigFields>(
  fs: FileSystem,
  path: string,
  schema: ConfigSchema<F>,
  options: { overrides?: Readonly<Record<string, unknown>> } = {},
): Promise<ConfigOf<F>> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e: unknown) {
    throw new ConfigError({ keyPath: '', message: `Cannot read config file ${path}` }, { cause: e });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e: unknown) {
    throw new ConfigError({ keyPath: '', message: `Config file ${path} is not valid UTF-8` }, { cause: e });
  }
  return loadConfig(schema, { toml: text, ...options });
}

/**
 * The configuration as TiKV shows it (status server `/config`): kebab-case keys, durations and
 * sizes as readable strings (`"10s"`, `"96MiB"`), bigints as decimal strings.
 */
export function describeConfig<F extends ConfigFields>(schema: ConfigSchema<F>, config: ConfigOf<F>): Record<string, unknown> {
  return describeSection(schema.fields, config as Record<string, unknown>);
}

function describeSection(fields: ConfigFields, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const key = spec.key ?? toKebabCase(name);
    const v = values[name];
    if (spec.kind === 'section') out[key] = describeSection(spec.fields, v as Record<string, unknown>);
    else if (spec.kind === 'duration') out[key] = formatDuration(v as number);
    else if (spec.kind === 'size') out[key] = formatSize(v as number);
    else if (spec.kind === 'bigint') out[key] = (v as bigint).toString();
    else if (spec.kind === 'string-array') out[key] = [...(v as string[])];
    else out[key] = v;
  }
  return out;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}

/** Turns `{ 'a.b': 1, c: { d: 2 } }` into `{ a: { b: 1 }, c: { d: 2 } }`. */
function expandDotted(input: Readonly<Record<string, unknown>>, issues: ConfigIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const parts = key.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (next === undefined) target[part] = {};
      else if (!isTable(next)) {
        issues.push({ keyPath: key, message: `Override "${key}" conflicts with a value at "${part}"` });
        break;
      }
      target = target[part] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1] as string;
    const v = isTable(value) ? expandDotted(value, issues) : value;
    const existing = target[last];
    target[last] = isTable(existing) && isTable(v) ? deepMerge(existing, v) : v;
  }
  return out;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const existing = out[k];
    out[k] = isTable(existing) && isTable(v) ? deepMerge(existing, v) : v;
  }
  return out;
}

function loadSection(
  fields: ConfigFields,
  toml: Record<string, unknown> | undefined,
  overrides: Record<string, unknown> | undefined,
  prefix: string,
  issues: ConfigIssue[],
): Record<string, unknown> {
  const byTomlKey = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const name of Object.keys(fields)) {
    const spec = fields[name] as ConfigField | ConfigSection;
    byTomlKey.set(spec.key ?? toKebabCase(name), name);
    byName.set(name, name);
  }
  const path = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  // Which input key each field takes its value from (TOML: only the TOML key; overrides: either).
  const fromToml = new Map<string, unknown>();
  const fromOverrides = new Map<string, unknown>();
  for (const [key, value] of Object.entries(toml ?? {})) {
    const name = byTomlKey.get(key);
    if (name === undefined) issues.push({ keyPath: path(key), message: `Unknown config key "${path(key)}"` });
    else fromToml.set(name, value);
  }
  for (const [key, value] of Object.entries(overrides ?? {})) {
    const name = byTomlKey.get(key) ?? byName.get(key);
    if (name === undefined) issues.push({ keyPath: path(key), message: `Unknown config key "${path(key)}"` });
    else fromOverrides.set(name, value);
  }

  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const keyPath = path(spec.key ?? toKebabCase(name));
    if (spec.kind === 'section') {
      const t = fromToml.get(name);
      const o = fromOverrides.get(name);
      const tTable = t === undefined ? undefined : isTable(t) ? t : badTable(keyPath, t, issues);
      const oTable = o === undefined ? undefined : isTable(o) ? o : badTable(keyPath, o, issues);
      out[name] = loadSection(spec.fields, tTable, oTable, keyPath, issues);
      continue;
    }
    let value: unknown = spec.default;
    if (fromOverrides.has(name)) value = convert(spec, fromOverrides.get(name), keyPath, true, issues);
    else if (fromToml.has(name)) value = convert(spec, fromToml.get(name), keyPath, false, issues);
    out[name] = value;
  }
  return out;
}

function badTable(keyPath: string, value: unknown, issues: ConfigIssue[]): undefined {
  issues.push({ keyPath, message: `Config key "${keyPath}" must be a table, got ${show(value)}` });
  return undefined;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'bigint') return `${value} (integer)`;
  if (typeof value === 'number') return `${value} (${Number.isInteger(value) ? 'integer' : 'float'})`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (value instanceof Date) return 'a date';
  return typeof value === 'object' ? 'a table' : `${String(value)} (${typeof value})`;
}

/** Converts one raw value; pushes an issue and returns the default when it is invalid. */
function convert(spec: ConfigField, raw: unknown, keyPath: string, lenient: boolean, issues: ConfigIssue[]): unknown {
  const fail = (expected: string): unknown => {
    issues.push({ keyPath, message: `Config key "${keyPath}" must be ${expected}, got ${show(raw)}` });
    return spec.default;
  };
  const range = <T extends number | bigint>(v: T, min: T | undefined, max: T | undefined, fmt: (x: T) => string): boolean => {
    if (min !== undefined && v < min) {
      issues.push({ keyPath, message: `Config key "${keyPath}" is ${fmt(v)}, below the minimum ${fmt(min)}` });
      return false;
    }
    if (max !== undefined && v > max) {
      issues.push({ keyPath, message: `Config key "${keyPath}" is ${fmt(v)}, above the maximum ${fmt(max)}` });
      return false;
    }
    return true;
  };
  let value: unknown;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') return fail('a string');
      value = raw;
      break;
    case 'bool':
      if (typeof raw === 'boolean') value = raw;
      else if (lenient && (raw === 'true' || raw === 'false')) value = raw === 'true';
      else return fail('true or false');
      break;
    case 'int': {
      const n = toInteger(raw, lenient);
      if (n === undefined || !Number.isSafeInteger(n)) return fail('an integer');
      if (!range(n, spec.min, spec.max, String)) return spec.default;
      value = n;
      break;
    }
    case 'float': {
      let n: number | undefined;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'bigint') n = Number(raw);
      else if (lenient && typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) n = Number(raw);
      if (n === undefined || !Number.isFinite(n)) return fail('a number');
      if (!range(n, spec.min, spec.max, String)) return spec.default;
      value = n;
      break;
    }
    case 'duration': {
      let ms: number | undefined;
      if (typeof raw === 'string') {
        try {
          ms = parseDuration(raw);
        } catch {
          return fail('a duration like "10s" or "500ms"');
        }
      } else if (lenient && typeof raw === 'number' && raw >= 0) ms = raw;
      else return fail('a duration like "10s" or "500ms"');
      if (!range(ms, spec.minMs, spec.maxMs, formatDuration)) return spec.default;
      value = ms;
      break;
    }
    case 'size': {
      let bytes: number | undefined;
      if (typeof raw === 'string') {
        try {
          bytes = parseSize(raw);
        } catch {
          return fail('a size like "128MiB" or "1GB"');
        }
      } else {
        const n = toInteger(raw, false);
        if (n === undefined || n < 0 || !Number.isSafeInteger(n)) return fail('a size like "128MiB" or "1GB"');
        bytes = n;
      }
      if (!range(bytes, spec.minBytes, spec.maxBytes, formatSize)) return spec.default;
      value = bytes;
      break;
    }
    case 'enum':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) return fail(`one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`);
      value = raw;
      break;
    case 'bigint': {
      let b: bigint | undefined;
      if (typeof raw === 'bigint') b = raw;
      else if (typeof raw === 'number' && Number.isSafeInteger(raw)) b = BigInt(raw);
      else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) b = BigInt(raw.trim());
      if (b === undefined) return fail('an integer');
      if (!range(b, spec.min, spec.max, String)) return spec.default;
      value = b;
      break;
    }
    case 'string-array':
      if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) return fail('an array of strings');
      value = [...(raw as string[])];
      break;
    default: {
      const never: never = spec;
      throw new TypeError(`Unknown config field kind ${String((never as { kind: unknown }).kind)}`);
    }
  }
  const problem = (spec.validate as ((v: unknown) => string | undefined) | undefined)?.(value);
  if (problem !== undefined) {
    issues.push({ keyPath, message: `Config key "${keyPath}" ${problem}` });
    return spec.default;
  }
  return value;
}

function toInteger(raw: unknown, lenient: boolean): number | undefined {
  if (typeof raw === 'bigint') {
    return raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(raw) : Number.NaN;
  }
  if (typeof raw === 'number') return Number.isInteger(raw) ? raw : undefined;
  if (lenient && typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  return undefined;
}
