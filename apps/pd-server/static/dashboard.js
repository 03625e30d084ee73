// The PD dashboard: polls PD's HTTP API every 2 s and redraws the page. Plain browser JS, no build.
'use strict';
(function () {
  const REFRESH_MS = 2000;
  const HISTORY = 90; // samples kept per chart line (3 minutes)
  const MAX_REGION_ROWS = 200;
  const COLORS = [
    '#1f77b4',
    '#d62728',
    '#2ca02c',
    '#ff7f0e',
    '#9467bd',
    '#8c564b',
    '#e377c2',
    '#17becf',
  ];
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** Per source name: previous cumulative sample and the derived series. */
  const sources = new Map();
  const colorOf = new Map();

  const $ = (id) => document.getElementById(id);

  /** PD writes uint64 values as bare JSON integers; keep those beyond 2^53 exact by reading them as strings. */
  async function getJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    const text = await res.text();
    return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
  }

  function fmtBytes(v) {
    const n = Number(v);
    if (!Number.isFinite(n)) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let x = n;
    let i = 0;
    while (Math.abs(x) >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`;
  }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || !Number.isFinite(Number(v))) return '–';
    return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits ?? 0 });
  }

  function ago(isoText, nowMs) {
    const t = Date.parse(isoText);
    if (!Number.isFinite(t) || t <= 0) return 'never';
    const s = Math.max(0, Math.round((nowMs - t) / 1000));
    return s < 60
      ? `${s}s ago`
      : s < 3600
        ? `${Math.floor(s / 60)}m ${s % 60}s ago`
        : `${Math.floor(s / 3600)}h ago`;
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function linkCell(row, href, text) {
    const td = document.createElement('td');
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    a.target = '_blank';
    a.rel = 'noopener';
    td.appendChild(a);
    row.appendChild(td);
  }

  function colorFor(name) {
    if (!colorOf.has(name)) colorOf.set(name, COLORS[colorOf.size % COLORS.length]);
    return colorOf.get(name);
  }

  /** p-quantile (seconds) of the observations between two cumulative bucket lists. */
  function quantile(prevBuckets, buckets, q) {
    const before = new Map(prevBuckets.map(([le, c]) => [String(le), c]));
    const deltas = buckets.map(([le, c]) => [le, c - (before.get(String(le)) ?? 0)]);
    const total = deltas.length === 0 ? 0 : deltas[deltas.length - 1][1];
    if (total <= 0) return null;
    let lastFinite = null;
    for (const [le, c] of deltas) {
      if (le !== '+Inf') lastFinite = le;
      if (c >= q * total) return le === '+Inf' ? lastFinite : le;
    }
    return lastFinite;
  }

  const toMs = (seconds) => (seconds === null ? null : seconds * 1000);

  /** Folds one overview into the per-source series (rates between this sample and the previous one). */
  function ingest(overview) {
    const now = Number(overview.now_ms);
    for (const src of overview.sources) {
      let s = sources.get(src.name);
      if (!s) {
        s = { prev: null, series: [], latest: null, src };
        sources.set(src.name, s);
      }
      s.src = src;
      if (!src.ok || !src.requests) continue;
      const cur = {
        t: now,
        count: src.requests.count,
        sum: src.requests.sum_seconds,
        buckets: src.requests.buckets,
      };
      if (s.prev && cur.t > s.prev.t && cur.count >= s.prev.count) {
        const dt = (cur.t - s.prev.t) / 1000;
        const dn = cur.count - s.prev.count;
        const point = {
          t: cur.t,
          rps: dn / dt,
          avgMs: dn > 0 ? ((cur.sum - s.prev.sum) / dn) * 1000 : null,
          p99Ms: dn > 0 ? toMs(quantile(s.prev.buckets, cur.buckets, 0.99)) : null,
        };
        s.series.push(point);
        if (s.series.length > HISTORY) s.series.shift();
        s.latest = point;
      }
      s.prev = cur;
    }
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /** Draws line series into an SVG (viewBox 600×200): lines = [{name, color, dashed, points: [{t, v}]}]. */
  function drawChart(svg, legend, lines, unit) {
    const W = 600;
    const H = 200;
    const L = 44;
    const B = 18;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const all = lines.flatMap((l) => l.points.filter((p) => p.v !== null && Number.isFinite(p.v)));
    const tMax = all.length ? Math.max(...all.map((p) => p.t)) : 0;
    const tMin = tMax - (HISTORY - 1) * REFRESH_MS;
    const yMax = niceMax(all.length ? Math.max(...all.map((p) => p.v)) : 0);
    const el = (name, attrs) => {
      const e = document.createElementNS(SVG_NS, name);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      svg.appendChild(e);
      return e;
    };
    for (let i = 0; i <= 4; i++) {
      const y = 4 + ((H - B - 4) * i) / 4;
      el('line', { x1: L, x2: W, y1: y, y2: y, class: 'grid' });
      el('text', { x: L - 4, y: y + 4, 'text-anchor': 'end' }).textContent = fmtNum(
        (yMax * (4 - i)) / 4,
        1,
      );
    }
    el('text', { x: L, y: H - 4 }).textContent =
      `${Math.round(((HISTORY - 1) * REFRESH_MS) / 60000)} min ago`;
    el('text', { x: W, y: H - 4, 'text-anchor': 'end' }).textContent = 'now';
    const x = (t) => L + ((W - L) * (t - tMin)) / (tMax - tMin || 1);
    const y = (v) => 4 + (H - B - 4) * (1 - v / yMax);
    for (const line of lines) {
      const pts = line.points.filter((p) => p.v !== null && Number.isFinite(p.v) && p.t >= tMin);
      if (pts.length === 0) continue;
      const d = pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
      el('polyline', {
        points: pts.length === 1 ? `${d} ${d}` : d,
        fill: 'none',
        stroke: line.color,
        'stroke-width': 2,
        'stroke-dasharray': line.dashed ? '5 4' : 'none',
        'vector-effect': 'non-scaling-stroke',
      });
      if (!line.dashed) {
        const last = pts[pts.length - 1];
        el('circle', {
          cx: x(last.t).toFixed(1),
          cy: y(last.v).toFixed(1),
          r: 3,
          fill: line.color,
        });
      }
    }
    legend.textContent = '';
    for (const line of lines.filter((l) => !l.dashed)) {
      const span = document.createElement('span');
      const i = document.createElement('i');
      i.style.background = line.color;
      span.appendChild(i);
      const last = line.points.length ? line.points[line.points.length - 1].v : null;
      span.appendChild(document.createTextNode(`${line.name}: ${fmtNum(last, 2)} ${unit}`));
      legend.appendChild(span);
    }
  }

  function renderCharts() {
    const rpsLines = [];
    const latLines = [];
    for (const [name, s] of sources) {
      const color = colorFor(name);
      rpsLines.push({ name, color, points: s.series.map((p) => ({ t: p.t, v: p.rps })) });
      latLines.push({ name, color, points: s.series.map((p) => ({ t: p.t, v: p.avgMs })) });
      latLines.push({
        name: `${name} p99`,
        color,
        dashed: true,
        points: s.series.map((p) => ({ t: p.t, v: p.p99Ms })),
      });
    }
    drawChart($('chart-rps'), $('legend-rps'), rpsLines, 'req/s');
    drawChart($('chart-latency'), $('legend-latency'), latLines, 'ms');
  }

  function renderOverview(o) {
    $('cluster-id').textContent = String(o.cluster_id);
    $('tso-physical').textContent = new Date(Number(o.tso.physical))
      .toISOString()
      .replace('T', ' ')
      .replace('Z', '');
    $('tso-ts').textContent = String(o.tso.ts);
    $('tso-logical').textContent = String(o.tso.logical);
    let total = 0;
    let rps = 0;
    let anyStore = false;
    for (const src of o.sources) {
      if (src.kind === 'pd') {
        $('pd-name').textContent = src.name.replace(/^PD /, '');
        const s = sources.get(src.name);
        $('pd-rps').textContent = s && s.latest ? fmtNum(s.latest.rps, 1) : '–';
        continue;
      }
      anyStore = true;
      if (src.ok && src.requests) total += src.requests.count;
      const s = sources.get(src.name);
      if (s && s.latest) rps += s.latest.rps;
    }
    $('tikv-requests-total').textContent = anyStore ? fmtNum(total) : '–';
    $('tikv-rps').textContent = anyStore ? fmtNum(rps, 1) : '–';
  }

  function renderStores(stores, nowMs) {
    const tbody = $('stores').tBodies[0];
    tbody.textContent = '';
    const states = {};
    let leaders = 0;
    for (const s of stores) {
      const st = s.store;
      const status = s.status;
      states[st.state_name] = (states[st.state_name] ?? 0) + 1;
      leaders += Number(status.leader_count ?? 0);
      const tr = document.createElement('tr');
      tr.dataset.storeId = String(st.id);
      cell(tr, String(st.id));
      cell(tr, st.state_name, `state-${st.state_name}`);
      cell(tr, st.address);
      if (st.status_address) linkCell(tr, `http://${st.status_address}/`, st.status_address);
      else cell(tr, '–');
      cell(tr, fmtBytes(status.capacity), 'num');
      cell(tr, fmtBytes(status.used_size), 'num');
      cell(tr, fmtBytes(status.available), 'num');
      cell(tr, fmtNum(status.region_count), 'num');
      cell(tr, fmtNum(status.leader_count), 'num');
      cell(tr, ago(status.last_heartbeat_ts, nowMs));
      const src = sources.get(`store ${st.id}`);
      cell(
        tr,
        src && src.latest
          ? fmtNum(src.latest.rps, 1)
          : src && src.src && !src.src.ok
            ? 'unreachable'
            : '–',
        'num',
      );
      tbody.appendChild(tr);
    }
    $('stores-empty').hidden = stores.length > 0;
    $('store-count').textContent = String(stores.length);
    $('store-states').textContent = Object.entries(states)
      .map(([k, v]) => `${v} ${k}`)
      .join(' · ');
    return leaders;
  }

  function renderRegions(regions, count, leaders) {
    const tbody = $('regions').tBodies[0];
    tbody.textContent = '';
    for (const r of regions.slice(0, MAX_REGION_ROWS)) {
      const tr = document.createElement('tr');
      tr.dataset.regionId = String(r.id);
      cell(tr, String(r.id));
      cell(tr, r.start_key === '' ? '(min)' : r.start_key, 'key').title = r.start_key;
      cell(tr, r.end_key === '' ? '(max)' : r.end_key, 'key').title = r.end_key;
      cell(tr, `${r.epoch.conf_ver}/${r.epoch.version}`);
      cell(
        tr,
        r.peers.map((p) => `${p.id} (${p.store_id})${p.is_learner ? ' learner' : ''}`).join(', '),
      );
      cell(
        tr,
        r.leader && r.leader.id !== undefined
          ? `${r.leader.id} (store ${r.leader.store_id})`
          : 'none',
      );
      cell(tr, fmtNum(r.approximate_size), 'num');
      cell(tr, fmtNum(r.approximate_keys), 'num');
      cell(tr, fmtNum(r.written_keys), 'num');
      tbody.appendChild(tr);
    }
    $('region-count').textContent = fmtNum(count);
    $('leader-count').textContent = `${fmtNum(leaders)} leaders`;
    const note = $('regions-note');
    note.hidden = count > 0 && count <= MAX_REGION_ROWS;
    note.textContent =
      count === 0
        ? 'No region yet (the cluster is bootstrapped by the first store).'
        : `Showing the first ${MAX_REGION_ROWS} of ${count} regions.`;
  }

  let inFlight = false;
  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    try {
      const [overview, stores, regions] = await Promise.all([
        getJson('/pd/api/v1/dashboard/overview'),
        getJson('/pd/api/v1/stores'),
        getJson('/pd/api/v1/regions'),
      ]);
      ingest(overview);
      const nowMs = Number(overview.now_ms);
      renderOverview(overview);
      const leaders = renderStores(stores.stores, nowMs);
      renderRegions(regions.regions, Number(regions.count), leaders);
      renderCharts();
      $('updated-at').textContent = new Date(nowMs).toLocaleTimeString('en-GB');
      const status = $('status');
      const down = overview.sources.filter((s) => !s.ok).length;
      status.textContent =
        down === 0 ? 'PD reachable' : `PD reachable · ${down} store(s) not answering metrics`;
      status.className = down === 0 ? 'status ok' : 'status bad';
    } catch (e) {
      const status = $('status');
      status.textContent = `PD unreachable: ${e && e.message ? e.message : e}`;
      status.className = 'status bad';
    } finally {
      inFlight = false;
    }
  }

  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
})();
