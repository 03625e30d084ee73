// Executes one parsed tikv-ctl command against a backend and writes its output.
import { decodeBytes, prefixNext, bytesEqual } from '@tikv-ts/codec';
import { debugpb, kvrpcpb } from '@tikv-ts/proto';
import type { Command } from './args';
import { CtlError, type DebugBackend } from './backend';
import { escape, toUpperHex } from './escape';
import { encodeKey, formatMvcc, formatRegionInfo, formatSize, line, pretty } from './format';

/** Where output goes (stdout in the process; a buffer in tests). */
export type Write = (text: string) => void;

/** Commands that need no store. Returns false when `cmd` needs one. */
export function runOffline(cmd: Command, out: Write): boolean {
  if (cmd.kind === 'to-hex') out(`${toUpperHex(cmd.bytes)}\n`);
  else if (cmd.kind === 'to-escaped') out(`${escape(cmd.bytes)}\n`);
  else if (cmd.kind === 'encode') out(`${escape(encodeKey(cmd.bytes))}\n`);
  else if (cmd.kind === 'decode') {
    let decoded: { value: Uint8Array; bytesRead: number };
    try {
      decoded = decodeBytes(cmd.bytes, 0);
    } catch (e: unknown) {
      throw new CtlError(
        `Cannot decode ${escape(cmd.bytes)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    out(`${escape(decoded.value)}\n`);
  } else return false;
  return true;
}

function db(d: 'kv' | 'raft'): debugpb.DB {
  return d === 'kv' ? debugpb.DB.KV : debugpb.DB.RAFT;
}

/**
 * Runs a command that addresses a store.
 * @throws CtlError (and the backend's typed errors) on failure; the caller prints one line
 */
export async function runOnStore(cmd: Command, backend: DebugBackend, out: Write): Promise<void> {
  switch (cmd.kind) {
    case 'store': {
      const r = await backend.getStoreInfo({});
      out(
        pretty({
          store_id: r.storeId.toString(),
          api_version: kvrpcpb.APIVersion[r.apiVersion] ?? String(r.apiVersion),
        }),
      );
      return;
    }
    case 'cluster': {
      const r = await backend.getClusterInfo({});
      out(pretty({ cluster_id: r.clusterId.toString() }));
      return;
    }
    case 'region': {
      const r = await backend.regionInfo({ regionId: cmd.regionId });
      out(pretty(formatRegionInfo(cmd.regionId, r)));
      return;
    }
    case 'regions': {
      const r = await backend.getAllRegionsInStore({});
      out(pretty({ regions: r.regions.map((id) => id.toString()) }));
      return;
    }
    case 'size': {
      const r = await backend.regionSize({ regionId: cmd.regionId, cfs: [...cmd.cfs] });
      out(pretty(formatSize(cmd.regionId, r)));
      return;
    }
    case 'mvcc': {
      // Encoded keys are never a proper prefix of one another, so [key, prefixNext(key)) holds
      // exactly the versions of this key.
      let found = false;
      for await (const e of backend.scanMvcc(
        debugpb.ScanMvccRequest.fromPartial({
          fromKey: cmd.key,
          toKey: prefixNext(cmd.key),
          limit: 1n,
        }),
      )) {
        if (!bytesEqual(e.key, cmd.key)) continue;
        found = true;
        out(line(formatMvcc(e.key, e.info, cmd.showCf)));
      }
      if (!found)
        throw new CtlError(
          `No MVCC records for key ${escape(cmd.key)} (MVCC keys are "z" + the encoded user key; see --encode)`,
        );
      return;
    }
    case 'scan': {
      for await (const e of backend.scanMvcc(
        debugpb.ScanMvccRequest.fromPartial({ fromKey: cmd.from, toKey: cmd.to, limit: cmd.limit }),
      )) {
        out(line(formatMvcc(e.key, e.info, cmd.showCf)));
      }
      return;
    }
    case 'raw-scan': {
      const entries = await backend.rawScan(cmd.cf, cmd.from, cmd.to, cmd.limit);
      for (const e of entries) out(line({ key: escape(e.key), value: escape(e.value) }));
      return;
    }
    case 'print': {
      const r = await backend.get({ db: db(cmd.db), cf: cmd.cf, key: cmd.key });
      out(pretty({ key: escape(cmd.key), cf: cmd.cf, value: escape(r.value) }));
      return;
    }
    case 'compact': {
      await backend.compact(
        debugpb.CompactRequest.fromPartial({
          db: db(cmd.db),
          cf: cmd.cf,
          fromKey: cmd.from,
          toKey: cmd.to,
          threads: 1,
          bottommostLevelCompaction: debugpb.BottommostLevelCompaction.Skip,
        }),
      );
      out(`success: compacted ${cmd.db} CF ${cmd.cf} [${escape(cmd.from)}, ${escape(cmd.to)})\n`);
      return;
    }
    case 'metrics': {
      const r = await backend.getMetrics({ all: cmd.all });
      out(r.prometheus.endsWith('\n') ? r.prometheus : `${r.prometheus}\n`);
      return;
    }
    case 'failpoint-inject':
      for (const p of cmd.points) {
        await backend.injectFailPoint({ name: p.name, actions: p.actions });
        out(`injected ${p.name}=${p.actions}\n`);
      }
      return;
    case 'failpoint-recover':
      for (const name of cmd.names) {
        await backend.recoverFailPoint({ name });
        out(`recovered ${name}\n`);
      }
      return;
    case 'failpoint-list': {
      const r = await backend.listFailPoints({});
      for (const e of r.entries) out(`${e.name}=${e.actions}\n`);
      return;
    }
    case 'help':
    case 'to-hex':
    case 'to-escaped':
    case 'encode':
    case 'decode':
    case 'pd-cluster':
      throw new CtlError(`Command ${cmd.kind} does not address a store`);
    default: {
      const never: never = cmd;
      throw new CtlError(`Unknown command ${JSON.stringify(never)}`);
    }
  }
}
