// Shared set-up for the browser scripts: Debian's Chromium, driven by
// playwright-core, which never downloads a browser of its own.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const ARTIFACTS = process.env.ARTIFACTS || new URL("./artifacts/", import.meta.url).pathname;

// Without the background-networking flags Chromium keeps trying to reach
// Google's services, which this machine's closed network refuses.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// launch starts Chromium with a fresh, empty profile and returns its
// context and a close function that also removes the profile. args are
// flags to add to the usual ones (a certificate to trust, say).
export async function launch({ args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "interop-chromium-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...args],
    viewport: { width: 960, height: 720 },
    timeout: 30_000,
  });
  // Generous: CI machines have two cores, shared with the servers.
  context.setDefaultTimeout(60_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// watch records what a page reports going wrong: uncaught exceptions,
// console errors (a Content-Security-Policy violation is one) and dialogs,
// which the HTML-injection checks must never see.
export function watch(page, label) {
  const problems = [];
  page.on("pageerror", (err) => problems.push(`${label}: uncaught ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${label}: console error: ${msg.text()}`);
  });
  page.on("dialog", (dialog) => {
    problems.push(`${label}: a ${dialog.type()} dialog opened: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  return problems;
}

// step prints progress, so a failure's output shows how far the script got.
export function step(text) {
  console.log(`- ${text} (${((performance.now()) / 1000).toFixed(1)} s)`);
}

// When run by interop_test.go with CONTROL=stdio, a script can ask the
// test to act on the server: it writes "@control <command>" on a line of
// its standard output and reads the answer, "ok" or an error, from its
// standard input.
export const controlled = process.env.CONTROL === "stdio";

let lines = null; // the reader of standard input, once control is used

export async function control(command) {
  if (!controlled) throw new Error("control needs CONTROL=stdio");
  if (!lines) {
    const { createInterface } = await import("node:readline");
    lines = createInterface({ input: process.stdin });
    lines.iterator = lines[Symbol.asyncIterator]();
  }
  console.log(`@control ${command}`);
  const { value, done } = await lines.iterator.next();
  if (done) throw new Error(`control ${command}: the test closed standard input`);
  if (value !== "ok") throw new Error(`control ${command}: ${value}`);
}

// endControl lets the script exit: an open standard input would keep it
// running until the test closes it, and the test waits for the script.
export function endControl() {
  if (lines) lines.close();
  process.stdin.destroy();
}
