// Browser test of the Mysfits page: Debian's chromium driven by playwright-core. Starts the
// table engine (or uses --endpoint), seeds it, starts mysfits-core on 127.0.0.1 port 0, then
// loads the page, sees twelve cards, filters to Evil (four), likes one and sees the count go
// up, clears the filter with the keyboard, and saves a screenshot. Bounded; stops what it started.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { values: args } = parseArgs({
  options: {
    core: { type: "string" },
    table: { type: "string" },
    endpoint: { type: "string" },
    screenshot: { type: "string" },
    "node-modules": { type: "string" },
  },
});
const { chromium } = require(path.join(args["node-modules"], "playwright-core"));

const procs = [];
const failures = [];
function check(cond, what) {
  console.log((cond ? "ok   " : "FAIL ") + what);
  if (!cond) failures.push(what);
}

function start(cmd, argv, env, name) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "inherit"] });
    procs.push(p);
    const timer = setTimeout(() => reject(new Error(`${name} did not print its port`)), 20000);
    let out = "";
    p.stdout.on("data", (d) => {
      out += d.toString();
      const m = out.match(/listening on http:\/\/[0-9.]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    p.on("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "mysfits-browser-"));
  let endpoint = args.endpoint;
  let tableName = "MysfitsTable";
  if (args.table) {
    const port = await start(args.table, ["serve", "--listen", "127.0.0.1:0", "--data-dir",
      path.join(work, "table"), "--region", "us-west-2"], process.env, "mysfits-table");
    endpoint = `http://127.0.0.1:${port}`;
  } else {
    tableName = "MysfitsBrowser" + Date.now();
  }
  const env = { ...process.env, AWS_REGION: "us-west-2", AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", DDB_TABLE_NAME: tableName,
    BIND_ADDRESS: "127.0.0.1", PORT: "0", HOME: work };
  const seed = spawnSync(args.core, ["seed"], { env, timeout: 90000, encoding: "utf8" });
  check(seed.status === 0, "seed: " + (seed.stdout || "").trim());
  const corePort = await start(args.core, [], env, "mysfits-core");
  const base = `http://127.0.0.1:${corePort}`;

  // A fresh profile directory per run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 1100 },
    timeout: 60000,
  });
  try {
    const page = browser.pages()[0] || await browser.newPage();
    page.setDefaultTimeout(15000);
    const foreign = [];
    page.on("request", (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));

    await page.goto(base + "/");
    await page.waitForFunction(() => document.querySelectorAll("li.card").length === 12);
    check(true, "twelve cards");
    check((await page.textContent("#region")) === "us-west-2", "region shown at the top");
    // Pictures load after the cards appear; wait for them rather than sample once.
    const imgsLoaded = await page.waitForFunction(
      () => document.images.length === 12 && Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0),
      null, { timeout: 10000 }).then(() => true, () => false);
    check(imgsLoaded, "every picture loaded");

    await page.click('button.filter[data-filter="GoodEvil"][data-value="Evil"]');
    await page.waitForFunction(() => {
      const cards = document.querySelectorAll("li.card");
      return cards.length === 4 && Array.from(cards).every((c) => c.textContent.includes("Evil"));
    });
    check(true, "Evil filter shows four cards");

    const card = page.locator("li.card").first();
    const before = Number(await card.locator("dd.likes").textContent());
    await card.locator("button.like").click();
    await page.waitForFunction((b) => Number(document.querySelector("li.card dd.likes").textContent) === b + 1, before);
    check(true, `like count went from ${before} to ${before + 1}`);
    check((await card.locator("button.like").getAttribute("aria-pressed")) === "true", "like button shows it was liked");
    await page.screenshot({ path: args.screenshot.replace(/\.png$/, "_evil_liked.png"), fullPage: true });

    // Keyboard: Tab to "Clear filter" and press Enter.
    await page.focus("#clear-filter");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("li.card").length === 12);
    check(true, "clear filter (keyboard) brings back twelve cards");

    await page.screenshot({ path: args.screenshot, fullPage: true });
    check(foreign.length === 0, "no requests leave the page's origin: " + foreign.join(" "));
    check(errors.length === 0, "no script errors: " + errors.join(" "));
  } finally {
    await browser.close();
  }
}

const overall = setTimeout(() => { console.log("FAIL timed out"); cleanup(1); }, 150000);
function cleanup(code) {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
  clearTimeout(overall);
  console.log(`${failures.length} failure(s)`);
  process.exit(code);
}
main().then(() => cleanup(failures.length ? 1 : 0), (e) => {
  console.log("FAIL " + e.stack);
  failures.push(String(e));
  cleanup(1);
});
