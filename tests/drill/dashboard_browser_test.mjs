// Browser test of the multi-region dashboard (issue 7): starts a two-region system with
// two_regions.py (no `mysfits up`) and `mysfits dashboard` on port 0, opens the page in Debian's
// chromium through playwright-core, checks both regions and the accelerator's groups are shown,
// then sends load through the accelerator and checks the numbers move. Bounded; stops what it
// started (closing the harness's stdin stops the system).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { values: args } = parseArgs({
  options: {
    harness: { type: "string" }, table: { type: "string" }, core: { type: "string" },
    like: { type: "string" }, edge: { type: "string" }, mysfits: { type: "string" },
    screenshot: { type: "string" }, "node-modules": { type: "string" },
  },
});
const { chromium } = require(path.join(args["node-modules"], "playwright-core"));

const failures = [];
function check(cond, what) {
  console.log((cond ? "ok   " : "FAIL ") + what);
  if (!cond) failures.push(what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts a process and resolves with the first stdout match of `re`.
function startAndMatch(cmd, argv, re, name, timeoutMs) {
  const p = spawn(cmd, argv, { stdio: ["pipe", "pipe", "inherit"] });
  const found = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "${re}" within ${timeoutMs} ms`)), timeoutMs);
    let out = "";
    p.stdout.on("data", (d) => {
      out += d.toString();
      const m = out.match(re);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    p.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}`)); });
  });
  return { p, found };
}

async function load(base, seconds) {
  const end = Date.now() + seconds * 1000;
  let ok = 0;
  const worker = async () => {
    while (Date.now() < end) {
      try {
        const like = Math.random() < 0.5;
        const r = await fetch(base + (like ? "/mysfits/" + ids[Math.floor(Math.random() * ids.length)] + "/like" : "/mysfits"),
          { method: like ? "POST" : "GET" });
        await r.text();
        if (r.ok) ok++;
      } catch { /* counted by the absence of ok */ }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return ok;
}

let ids = [];
async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "mysfits-dashboard-"));
  const harness = startAndMatch("/usr/bin/python3", [args.harness, "--table", args.table, "--core", args.core,
    "--like", args.like, "--edge", args.edge, "--work", path.join(work, "system")], /ready (\S+)/, "harness", 120000);
  let dash = null, browser = null;
  try {
    const systemFile = (await harness.found)[1];
    const system = JSON.parse(readFileSync(systemFile, "utf8"));
    const acc = system.accelerator.url;
    ids = (await (await fetch(acc + "/mysfits")).json()).mysfits.map((m) => m.mysfitId);
    dash = startAndMatch(args.mysfits, ["dashboard", "--system", systemFile, "--listen", "127.0.0.1:0",
      "--port-file", path.join(work, "dashboard.port")], /listening on (http:\/\/[0-9.:]+\/)/, "dashboard", 30000);
    const url = (await dash.found)[1];
    const prom = await (await fetch(url + "prometheus.yml")).text();
    check(prom.includes("job_name: mysfits-load-balancer") && prom.includes("us-east-1"),
      "the dashboard serves a Prometheus scrape configuration naming both regions");

    browser = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
      executablePath: "/usr/bin/chromium", headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 1600 }, timeout: 60000,
    });
    const page = browser.pages()[0] || await browser.newPage();
    page.setDefaultTimeout(30000);
    const foreign = [];
    page.on("request", (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
    await page.goto(url);
    for (const region of ["us-west-2", "us-east-1"]) {
      await page.locator(`section[data-region="${region}"] h2`).waitFor();
      check(await page.locator(`section[data-region="${region}"] h2`).isVisible(), `region ${region} shown`);
    }
    await page.locator('#acc-table tr[data-group="us-east-1"]').waitFor();
    check(await page.locator("#acc-table tbody tr").count() === 2, "accelerator shows two endpoint groups");
    check(await page.locator("canvas").count() >= 6, "uPlot charts drawn");
    const rps = async (region) => {
      const t = await page.locator(`section[data-region="${region}"] [data-metric="rps_2xx"] dd`).textContent();
      return Number.parseFloat(t) || 0;
    };
    const accRps = async () => {
      let sum = 0;
      for (const row of await page.locator("#acc-table tbody tr").all()) {
        sum += Number.parseFloat(await row.locator("td").nth(2).textContent()) || 0;
      }
      return sum;
    };
    await sleep(3000);
    const before = { west: await rps("us-west-2"), east: await rps("us-east-1"), acc: await accRps() };
    console.log("before load", before);
    const loading = load(acc, 8);
    let peak = { west: 0, east: 0, acc: 0 };
    for (let i = 0; i < 14; i++) {
      await sleep(500);
      peak = { west: Math.max(peak.west, await rps("us-west-2")), east: Math.max(peak.east, await rps("us-east-1")),
        acc: Math.max(peak.acc, await accRps()) };
    }
    const sent = await loading;
    console.log("during load", peak, "successful requests", sent);
    check(sent > 50, `load ran (${sent} successful requests)`);
    check(peak.acc > before.acc + 5, `accelerator requests/s moved (${before.acc} -> ${peak.acc})`);
    check(peak.west > before.west + 5 || peak.east > before.east + 5,
      `a region's 2xx/s moved (west ${before.west} -> ${peak.west}, east ${before.east} -> ${peak.east})`);
    const cpu = await page.locator(`section[data-region="us-west-2"] [data-metric="cpu-core"] dd`).textContent();
    const mem = await page.locator(`section[data-region="us-west-2"] [data-metric="mem-core"] dd`).textContent();
    check(Number.parseFloat(mem) > 0, `core task memory shown (${mem} MB, CPU ${cpu} %)`);
    check(foreign.length === 0, "nothing requested outside the dashboard's origin: " + foreign.join(", "));
    if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  } finally {
    if (browser) await browser.close();
    if (dash) dash.p.kill("SIGTERM");
    harness.p.stdin.end();
    await new Promise((r) => { harness.p.on("exit", r); setTimeout(r, 30000); });
  }
  if (failures.length) {
    console.log(`${failures.length} check(s) failed`);
    process.exit(1);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
