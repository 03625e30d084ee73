import { cfg, defineConfig, loadConfig } from './config';
import { ConfigError } from './errors';
import { logConfigFields, loggerOptionsFromConfig } from './log-config';
import { createLogger } from './logger';
import { ManualClock } from './testing/manual-clock';
import { SimFs } from './testing/sim-fs';

const schema = defineConfig({ log: cfg.section(logConfigFields()) });

describe('log config', () => {
  it('maps TiKV [log] settings to logger options', () => {
    const c = loadConfig(schema, { toml: '[log]\nlevel = "warning"\nformat = "json"\n[log.file]\nfilename = "/var/log/tikv.log"\nmax-size = 10\nmax-backups = 2\n' });
    expect(loggerOptionsFromConfig(c.log)).toEqual({ level: 'warn', format: 'json', file: { path: '/var/log/tikv.log', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 3 } });
    const d = loadConfig(schema, {});
    expect(loggerOptionsFromConfig(d.log)).toEqual({ level: 'info', format: 'text' });
    expect(() => loadConfig(schema, { toml: '[log]\nlevel = "loud"' })).toThrow(ConfigError);
  });

  it('keeps every rotated file when max-backups is 0', async () => {
    const fs = new SimFs();
    const c = loadConfig(schema, { toml: '[log.file]\nfilename = "/t.log"\nmax-size = 1\n' });
    const opts = loggerOptionsFromConfig(c.log);
    const file = { ...(opts.file as NonNullable<typeof opts.file>), maxSizeBytes: 100 };
    const logger = createLogger({ clock: new ManualClock(), fs, file });
    for (let i = 0; i < 12; i++) logger.info('0123456789012345678901234567890123456789', { i });
    await logger.close();
    const names = await fs.readdir('/');
    expect(names.length).toBeGreaterThan(4);
    expect(names).toContain('t.log');
    const all = (await Promise.all(names.map(async (n) => new TextDecoder().decode(await fs.readFile(`/${n}`))))).join('');
    for (let i = 0; i < 12; i++) expect(all).toContain(`[i=${i}]`);
  });
});
