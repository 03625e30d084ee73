// The PD dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core),
// against real pd-server and tikv-server processes on free ports.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  cleanupDirs,
  contextOf,
  enc,
  eventually,
  regionsOf,
  startPd,
  startTikv,
  TikvClient,
  type PdProc,
  type TikvProc,
} from '../server/harness';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, 'artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

jest.setTimeout(120_000);

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? '';
}

const numberIn = (text: string): number => Number(text.replace(/[^0-9.]/g, ''));

describe('PD dashboard in headless Chromium', () => {
  let pd: PdProc | undefined;
  let kv: TikvProc | undefined;
  let browser: Browser | undefined;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the dashboard test needs Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH`,
      );
    }
    pd = await startPd();
    kv = await startTikv({ pdUrl: pd.url });
    const pdUrl = pd.url;
    // The store is in PD's API once it has bootstrapped and sent a heartbeat.
    await eventually(async () => {
      const r = (await (await fetch(`${pdUrl}/pd/api/v1/stores`)).json()) as { count: number };
      return r.count === 1 || undefined;
    }, 'the store in PD');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await kv?.proc.stop();
    await pd?.proc.stop();
    cleanupDirs();
  });

  it('loads without console errors, shows the store, and its numbers move under a write load', async () => {
    if (pd === undefined || kv === undefined || browser === undefined)
      throw new Error('setup failed');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) =>
      consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`),
    );

    const res = await page.goto(`${pd.url}/dashboard/`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('#stores tbody tr[data-store-id]', { timeout: 15_000 });
    const row = await textOf(page, '#stores tbody tr[data-store-id]');
    expect(row).toContain(kv.addr);
    expect(row).toContain('Up');
    expect(await textOf(page, '#store-count')).toBe('1');
    await page.waitForSelector('#regions tbody tr[data-region-id]');
    expect(await page.getAttribute('#stores tbody tr[data-store-id] a', 'href')).toBe(
      `${kv.statusUrl}/`,
    );
    const tsoBefore = await textOf(page, '#tso-ts');
    const totalBefore = numberIn(await textOf(page, '#tikv-requests-total'));
    expect(BigInt(tsoBefore)).toBeGreaterThan(0n);

    // Raw puts until the page shows them (the rate needs two samples 2 s apart).
    const client = new TikvClient(kv.addr);
    const region = (await regionsOf(kv.statusUrl))[0];
    if (region === undefined) throw new Error('the store has no region');
    const context = contextOf(region);
    let puts = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            client.call(
              'rawPut',
              kvrpcpb.RawPutRequest.fromPartial({
                context,
                key: enc(`dash-${puts}`),
                value: enc(`value-${puts++}`),
              }),
            ),
          ),
        );
      }
    })();
    try {
      // Evaluated in the page (a string: this project's TypeScript has no DOM types).
      const shown = `(() => {
        const num = (id) => Number((document.getElementById(id)?.textContent ?? '').replace(/[^0-9.]/g, ''));
        return num('tikv-requests-total') >= ${totalBefore + 100} && num('tikv-rps') > 0 &&
          document.querySelectorAll('#chart-rps polyline').length > 0;
      })()`;
      await page.waitForFunction(shown, undefined, { timeout: 30_000, polling: 200 });
    } finally {
      loading = false;
      await load;
      client.close();
    }
    expect(puts).toBeGreaterThanOrEqual(100);
    const totalAfter = numberIn(await textOf(page, '#tikv-requests-total'));
    expect(totalAfter).toBeGreaterThan(totalBefore);
    expect(numberIn(await textOf(page, '#tikv-rps'))).toBeGreaterThan(0);
    expect(BigInt(await textOf(page, '#tso-ts'))).toBeGreaterThan(BigInt(tsoBefore));
    expect(await page.locator('#chart-latency polyline').count()).toBeGreaterThan(0);
    expect(await textOf(page, '#status')).toBe('PD reachable');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
