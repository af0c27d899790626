// Chromium uploads a 5 MiB file through examples/upload, finds it listed
// after a reload and downloads it. Run by interop_test.go, or by hand
// against a running upload server:
//
//	UPLOAD_URL=http://127.0.0.1:8081 UPLOAD_DIR=./uploads node upload.browser.mjs
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARTIFACTS, launch, step, watch } from "./browser.mjs";

const url = process.env.UPLOAD_URL;
const dir = process.env.UPLOAD_DIR;
if (!url || !dir) throw new Error("set UPLOAD_URL to the upload server's http:// address and UPLOAD_DIR to its -dir");

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

const work = mkdtempSync(join(tmpdir(), "interop-upload-"));
const { context, close } = await launch();
try {
  step("make a 5 MiB file of random bytes");
  const data = randomBytes(5 << 20);
  const file = join(work, "random-5MiB.bin");
  writeFileSync(file, data);

  const page = await context.newPage();
  const problems = watch(page, "upload");
  // What the page sends on its WebSockets: the hash must follow the bytes.
  const sent = [];
  page.on("websocket", (ws) => ws.on("framesent", (f) => sent.push(typeof f.payload === "string" ? JSON.parse(f.payload).type : "bytes")));
  await page.goto(url);
  await page.locator("#limit", { hasText: "Files up to" }).waitFor();
  await page.locator("#empty", { hasText: "Nothing yet" }).waitFor();

  step("the page's incremental SHA-256 agrees with WebCrypto's, whatever the pieces");
  const disagreements = await page.evaluate(async () => {
    const { SHA256 } = await import("./sha256.js");
    const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
    const random = (n) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
      return b;
    };
    const bad = [];
    // Every length around the block (64) and padding (56) boundaries, in
    // one piece and byte by byte; then a large input in uneven pieces.
    for (let n = 0; n <= 200; n++) {
      const data = random(n);
      const want = hex(await crypto.subtle.digest("SHA-256", data));
      const whole = new SHA256().update(data).hex();
      const bytewise = new SHA256();
      for (let i = 0; i < n; i++) bytewise.update(data.subarray(i, i + 1));
      if (whole !== want || bytewise.hex() !== want) bad.push(n);
    }
    const big = random(3 << 20);
    const pieces = new SHA256();
    for (let i = 0, k = 1; i < big.length; k++) {
      const n = (k * 7919) % 100000;
      pieces.update(big.subarray(i, i + n));
      i += n;
    }
    if (pieces.hex() !== hex(await crypto.subtle.digest("SHA-256", big))) bad.push(big.length);
    return bad;
  });
  assert.deepEqual(disagreements, [], "lengths whose hashes differ");

  // Record every value the progress bar takes, to see it move.
  await page.evaluate(() => {
    const bar = document.getElementById("progress");
    window.progressSeen = [];
    new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, { attributes: true });
  });

  step("upload it");
  await page.getByLabel("File", { exact: true }).setInputFiles(file);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#status.ok").waitFor({ timeout: 60_000 });

  step("the bar reached 100% on its way through intermediate values");
  assert.equal(await page.locator("#progress").evaluate((bar) => bar.value), 100);
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.some((v) => v > 0 && v < 100), `no intermediate progress in ${JSON.stringify(seen)}`);

  step("the bytes were sent first, and the hash, computed on the way, after them");
  assert.equal(sent[0], "start");
  assert.equal(sent.at(-1), "end");
  assert.ok(sent.slice(1, -1).every((kind) => kind === "bytes") && sent.length > 3, `frames sent: ${sent}`);

  step("the server stored the same bytes");
  const entry = page.locator("#files li").first();
  const name = await entry.locator(".file").textContent();
  assert.equal(await entry.getAttribute("data-sha256"), sha256(data));
  assert.equal(sha256(readFileSync(join(dir, name))), sha256(data), `${name} on disk differs`);
  await page.screenshot({ path: join(ARTIFACTS, "upload.png") });

  step("the choice is cleared: pressing Upload again stores no copy");
  assert.equal(await page.getByLabel("File", { exact: true }).evaluate((input) => input.files.length), 0);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#status.bad", { hasText: "Choose a file first" }).waitFor();

  step("after a reload, the file is listed, and its link downloads it");
  await page.reload();
  const link = page.locator("#files li a.file", { hasText: name });
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.equal(download.suggestedFilename(), name);
  const saved = join(work, "downloaded.bin");
  await download.saveAs(saved);
  assert.equal(sha256(readFileSync(saved)), sha256(data), "the download differs from the upload");
  await page.screenshot({ path: join(ARTIFACTS, "upload-reloaded.png") });

  step("at phone width, nothing is wider than the screen");
  await page.setViewportSize({ width: 390, height: 760 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width} px wide`);
  await page.screenshot({ path: join(ARTIFACTS, "upload-phone.png"), fullPage: true });
  assert.deepEqual(problems, [], "the page reported problems");
  console.log("upload: 1 passed, 0 failed");
} finally {
  await close();
  rmSync(work, { recursive: true, force: true });
}
