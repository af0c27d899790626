// Chromium uploads a 5 MiB file through examples/upload. Run by
// interop_test.go, or by hand against a running upload server:
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
  await page.goto(url);
  await page.locator("#limit", { hasText: "Files up to" }).waitFor();

  // Record every value the progress bar takes, to see it move.
  await page.evaluate(() => {
    const bar = document.getElementById("progress");
    window.progressSeen = [];
    new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, { attributes: true });
  });

  step("upload it");
  await page.getByLabel("File").setInputFiles(file);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#status.ok").waitFor({ timeout: 60_000 });

  step("the bar reached 100% on its way through intermediate values");
  assert.equal(await page.locator("#progress").evaluate((bar) => bar.value), 100);
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.some((v) => v > 0 && v < 100), `no intermediate progress in ${JSON.stringify(seen)}`);

  step("the server stored the same bytes");
  const entry = page.locator("#done li").first();
  const name = await entry.locator(".file").textContent();
  assert.equal(await entry.getAttribute("data-sha256"), sha256(data));
  assert.equal(sha256(readFileSync(join(dir, name))), sha256(data), `${name} on disk differs`);

  await page.screenshot({ path: join(ARTIFACTS, "upload.png") });
  assert.deepEqual(problems, [], "the page reported problems");
  console.log("upload: 1 passed, 0 failed");
} finally {
  await close();
  rmSync(work, { recursive: true, force: true });
}
