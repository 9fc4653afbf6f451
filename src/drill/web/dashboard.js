// The multi-region dashboard page: polls /api/history every second, keeps the last 30 minutes
// and draws uPlot charts per region (requests by status class, latency, CPU, memory, healthy
// tasks), the accelerator (dials, endpoint health, requests per group) and replication latency.
"use strict";

const POLL_MS = 1000;
let keep = 30 * 60;          // seconds of history (the server says how much it keeps)
let since = 0;               // newest point we have
const times = [];            // unix seconds
const values = new Map();    // series key -> array aligned with times
const charts = new Map();    // chart id -> {plot, keys}
let latest = null;

const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : v.toFixed(digits);

function addPoints(points) {
  for (const p of points) {
    times.push(p.t);
    const n = times.length;
    for (const [k, v] of Object.entries(p.v)) {
      if (!values.has(k)) values.set(k, new Array(n - 1).fill(null));
    }
    for (const [k, arr] of values) arr.push(k in p.v ? p.v[k] : null);
    since = Math.max(since, p.t);
  }
  const cutoff = since - keep;
  let drop = 0;
  while (drop < times.length && times[drop] < cutoff) drop++;
  if (drop > 0) {
    times.splice(0, drop);
    for (const arr of values.values()) arr.splice(0, drop);
  }
}

function last(key) {
  const arr = values.get(key);
  if (!arr) return null;
  for (let i = arr.length - 1; i >= 0 && i >= arr.length - 3; i--) if (arr[i] !== null) return arr[i];
  return null;
}

const palette = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#17becf"];

// (Re)draws a chart with the given series keys; rebuilt only when the keys change.
function chart(id, title, keys, labels, unit) {
  const el = document.getElementById(id);
  if (!el) return;
  const data = [times.slice(), ...keys.map((k) => (values.get(k) || new Array(times.length).fill(null)).slice())];
  const known = charts.get(id);
  const sig = keys.join(",");
  if (!known || known.sig !== sig) {
    if (known) known.plot.destroy();
    el.innerHTML = "";
    const h = document.createElement("h3");
    h.textContent = title;
    el.appendChild(h);
    const opts = {
      width: Math.max(300, el.clientWidth || 520), height: 150,
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: palette[i % palette.length], width: 1.5,
        value: (u, v) => v === null ? "–" : v.toFixed(1) + unit }))],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true } },
    };
    const plot = new uPlot(opts, data, el);
    charts.set(id, { plot, sig });
  } else {
    // The grid may have reflowed (a region appeared, the window changed): follow its width.
    const width = Math.max(300, el.clientWidth);
    if (Math.abs(width - known.plot.width) > 8) known.plot.setSize({ width, height: 150 });
    known.plot.setData(data);
  }
}

function keysWithPrefix(prefix) {
  return [...values.keys()].filter((k) => k.startsWith(prefix)).sort();
}

function regionSection(r) {
  const id = "region-" + r.name;
  let sec = document.getElementById(id);
  if (!sec) {
    sec = document.createElement("section");
    sec.id = id;
    sec.className = "region";
    sec.setAttribute("data-region", r.name);
    sec.innerHTML = `<h2></h2><dl class="numbers"></dl>
      <div class="chart" id="${id}-rps"></div><div class="chart" id="${id}-lat"></div>
      <div class="chart" id="${id}-cpu"></div><div class="chart" id="${id}-mem"></div>
      <div class="chart" id="${id}-healthy"></div>`;
    sec.querySelector("h2").textContent = r.name + (latest && r.name === latest.primary_region ? " (primary)" : "");
    document.getElementById("regions").appendChild(sec);
  }
  sec.classList.toggle("down", !r.lb_up);
  return sec;
}

function number(dl, name, label, text) {
  let div = dl.querySelector(`[data-metric="${name}"]`);
  if (!div) {
    div = document.createElement("div");
    div.setAttribute("data-metric", name);
    div.innerHTML = "<dt></dt><dd></dd>";
    div.querySelector("dt").textContent = label;
    dl.appendChild(div);
  }
  div.querySelector("dd").textContent = text;
}

function render() {
  if (!latest) return;
  // Accelerator.
  const tbody = document.querySelector("#acc-table tbody");
  tbody.innerHTML = "";
  for (const g of latest.accelerator.groups) {
    const tr = document.createElement("tr");
    tr.setAttribute("data-group", g.name);
    const cells = [g.name, g.dial.toFixed(0) + " %", `${g.healthy} / ${g.endpoints}`, fmt(last("acc|rps|" + g.name))];
    cells.forEach((c, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = c;
      if (i === 2 && g.healthy < g.endpoints) td.className = "unhealthy";
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }
  const accGroups = latest.accelerator.groups.map((g) => g.name);
  chart("chart-acc", "Requests/s per endpoint group (accelerator)", accGroups.map((g) => "acc|rps|" + g), accGroups, "/s");

  // Regions.
  for (const r of latest.regions) {
    const sec = regionSection(r);
    const dl = sec.querySelector(".numbers");
    const p = r.name + "|";
    number(dl, "rps", "requests/s", fmt(last(p + "rps")));
    number(dl, "rps_2xx", "2xx/s", fmt(last(p + "rps_2xx")));
    number(dl, "rps_4xx", "4xx/s", fmt(last(p + "rps_4xx")));
    number(dl, "rps_5xx", "5xx/s", fmt(last(p + "rps_5xx")));
    number(dl, "p50", "p50 ms", fmt(last(p + "p50_ms"), 2));
    number(dl, "p99", "p99 ms", fmt(last(p + "p99_ms"), 2));
    const services = [...new Set(r.tasks.map((t) => t.service))].sort();
    for (const s of services) {
      const tasks = r.tasks.filter((t) => t.service === s);
      const healthy = tasks.filter((t) => t.health === "healthy" || t.health === "initial").length;
      number(dl, "healthy-" + s, `${s} healthy tasks`, `${healthy} / ${tasks.length}`);
      number(dl, "cpu-" + s, `${s} CPU %`, fmt(last(p + "cpu_pct|" + s)));
      number(dl, "mem-" + s, `${s} memory MB`, fmt(last(p + "rss_mb|" + s)));
    }
    const id = "region-" + r.name;
    chart(id + "-rps", "Requests/s through the load balancer", [p + "rps", p + "rps_2xx", p + "rps_4xx", p + "rps_5xx"], ["all", "2xx", "4xx", "5xx"], "/s");
    chart(id + "-lat", "Latency (ms)", [p + "p50_ms", p + "p99_ms"], ["p50", "p99"], " ms");
    const cpu = keysWithPrefix(p + "cpu_pct|");
    chart(id + "-cpu", "CPU % per service (sum of its tasks)", cpu, cpu.map((k) => k.split("|")[2]), " %");
    const mem = keysWithPrefix(p + "rss_mb|");
    chart(id + "-mem", "Memory MB per service (sum of its tasks)", mem, mem.map((k) => k.split("|")[2]), " MB");
    const healthy = keysWithPrefix(p + "healthy|");
    chart(id + "-healthy", "Healthy tasks", healthy, healthy.map((k) => k.split("|")[2]), "");
  }

  // Replication.
  const repl = keysWithPrefix("repl|latency_ms|");
  const list = document.getElementById("repl-list");
  list.innerHTML = "";
  for (const k of repl) {
    const li = document.createElement("li");
    const pair = k.split("|")[2].replace(">", " → ");
    const backlog = last("repl|backlog|" + k.split("|")[2]);
    li.textContent = `${pair}: ${fmt(last(k), 0)} ms` + (backlog === null ? "" : `, ${backlog} pending`);
    list.appendChild(li);
  }
  document.getElementById("repl-note").textContent = repl.length ? "" :
    "The tables export no replication metrics (global tables not configured, or an engine without them).";
  chart("chart-repl", "Replication latency (ms) per region pair", repl, repl.map((k) => k.split("|")[2].replace(">", "→")), " ms");
}

async function poll() {
  try {
    const res = await fetch("api/history?since=" + since, { cache: "no-store" });
    const body = await res.json();
    keep = body.history_seconds || keep;
    latest = body.latest && body.latest.regions ? body.latest : latest;
    addPoints(body.points || []);
    render();
    const when = since ? new Date(since * 1000).toLocaleTimeString() : "–";
    document.getElementById("status").textContent =
      `${latest ? latest.regions.length : 0} regions · last scrape ${when} · ${times.length} points kept`;
  } catch (e) {
    document.getElementById("status").textContent = "Dashboard server not answering: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}
poll();
