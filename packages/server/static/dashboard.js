// The node's dashboard page: reads /status, /regions and /metrics of this status server.
'use strict';
function cell(tr, text, tag) {
  const td = document.createElement(tag || 'td');
  td.textContent = String(text);
  tr.appendChild(td);
}
async function load() {
  const status = await (await fetch('/status')).json();
  // Link back to the cluster dashboard served by the first PD endpoint.
  const pd = Array.isArray(status.pd_endpoints) ? status.pd_endpoints[0] : undefined;
  if (typeof pd === 'string' && pd !== '') {
    const base = /^https?:\/\//.test(pd) ? pd : `http://${pd}`;
    const link = document.getElementById('pd-dashboard');
    link.href = `${base.replace(/\/+$/, '')}/dashboard/`;
    link.textContent = link.href;
  }
  const store = document.getElementById('store');
  store.replaceChildren();
  for (const [k, v] of Object.entries(status)) {
    const tr = document.createElement('tr');
    cell(tr, k, 'th');
    cell(tr, typeof v === 'object' ? JSON.stringify(v) : v);
    store.appendChild(tr);
  }
  const regions = await (await fetch('/regions')).json();
  const rt = document.getElementById('regions');
  while (rt.rows.length > 1) rt.deleteRow(1);
  for (const r of regions.regions) {
    const tr = rt.insertRow();
    cell(tr, r.id);
    cell(tr, r.start_key || '-');
    cell(tr, r.end_key || '-');
    cell(tr, r.region_epoch.version);
    cell(tr, r.region_epoch.conf_ver);
    cell(tr, r.peers.map((p) => `${p.id}@${p.store_id}`).join(', '));
  }
  const text = await (await fetch('/metrics')).text();
  const counts = {};
  for (const line of text.split('\n')) {
    const m = /^tikv_grpc_msg_duration_seconds_count\{[^}]*type="([^"]+)"[^}]*\} (\d+)/.exec(line);
    if (m) counts[m[1]] = Number(m[2]);
  }
  const qt = document.getElementById('requests');
  while (qt.rows.length > 1) qt.deleteRow(1);
  for (const [type, n] of Object.entries(counts).sort()) {
    const tr = qt.insertRow();
    cell(tr, type);
    cell(tr, n);
  }
}
load().catch((e) => { document.body.appendChild(document.createTextNode(`Failed to load: ${e}`)); });
setInterval(() => { load().catch(() => {}); }, 5000);
