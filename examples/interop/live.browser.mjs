// Two Chromium pages watch one poll through examples/live: a vote in one
// moves the bars in both, and a posted notice shows in both. Run by
// interop_test.go, or by hand against a live server you started:
//
//	LIVE_URL=http://127.0.0.1:8080 ADMIN_TOKEN=secret node live.browser.mjs
//
// ADMIN_TOKEN is the server's -admin-token; leave it unset for a server
// without one. The server must be fresh: the script expects no votes yet.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, control, controlled, endControl, launch, step, watch } from "./browser.mjs";

const url = process.env.LIVE_URL;
if (!url) throw new Error("set LIVE_URL to the live server's http:// address");
const token = process.env.ADMIN_TOKEN || "";

const INJECTION = "<img src=x onerror=alert(1)>";

// open opens the poll in a new page and waits until it is live and shows
// the options.
async function open(context, label) {
  const page = await context.newPage();
  const problems = watch(page, label);
  await page.goto(url);
  await page.locator('#status[data-state="online"]').waitFor();
  await page.locator("#options li.option").first().waitFor();
  return { page, problems };
}

// expectTally waits until the page shows counts (option → votes) and
// their total, with the percentages and bar widths that go with them.
async function expectTally(page, counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  await page.locator(`#total[data-votes="${total}"]`).waitFor();
  for (const [option, n] of Object.entries(counts)) {
    const pct = total ? Math.round((n * 100) / total) : 0;
    const row = page.locator(`#options li.option[data-option="${option}"]`);
    await row.and(page.locator(`[data-count="${n}"]`)).waitFor();
    assert.equal(await row.locator(".count").textContent(), `${n} (${pct}%)`, `${option}'s count as shown`);
  }
  // The bars grow with a transition: wait for them to arrive.
  await page.waitForFunction((counts) => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return Object.entries(counts).every(([option, n]) => {
      const row = document.querySelector(`#options li.option[data-option="${option}"]`);
      const share = row.querySelector(".fill").getBoundingClientRect().width / row.querySelector(".track").getBoundingClientRect().width;
      return Math.abs(share - (total ? n / total : 0)) < 0.01;
    });
  }, counts);
}

function vote(page, option) {
  return page.getByRole("button", { name: `Vote for ${option}`, exact: true }).click();
}

// notices returns the notices a page shows, newest first.
function notices(page) {
  return page.locator("#notices li .text").allTextContents();
}

const { context, close } = await launch();
try {
  step("two pages open the poll and show three options, no votes");
  const a = await open(context, "A");
  const b = await open(context, "B");
  for (const { page } of [a, b]) {
    assert.deepEqual(await page.locator("#options li.option").evaluateAll((lis) => lis.map((li) => li.dataset.option)),
      ["red", "green", "blue"]);
    await expectTally(page, { red: 0, green: 0, blue: 0 });
  }

  step("a click in page A moves the bars in both pages");
  await vote(a.page, "red");
  for (const { page } of [a, b]) await expectTally(page, { red: 1, green: 0, blue: 0 });

  step("two clicks in page B move them again");
  await vote(b.page, "green");
  await vote(b.page, "green");
  for (const { page } of [a, b]) await expectTally(page, { red: 1, green: 2, blue: 0 });

  if (token) {
    step("a notice without the admin token is refused");
    const refused = await fetch(`${url}/notify`, { method: "POST", body: "not allowed" });
    assert.equal(refused.status, 401);
  }

  step("a notice posted by the test shows in both pages, as text");
  const posted = await fetch(`${url}/notify`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: `Voting closes soon ${INJECTION}`,
  });
  assert.equal(posted.status, 200, await posted.text());
  for (const { page } of [a, b]) {
    await page.locator("#notices li .text", { hasText: "Voting closes soon" }).waitFor();
    assert.equal(await page.locator("#notices img").count(), 0, "an <img> reached the DOM");
  }

  step("a notice posted from page A itself (same origin) shows in both, newest first");
  const fromPage = await a.page.evaluate(async (token) => {
    const resp = await fetch("/notify", {
      method: "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      body: "Results at noon in the main hall.",
    });
    return `${resp.status} ${await resp.text()}`;
  }, token);
  assert.equal(fromPage, "200 notice sent to 2 clients\n");
  for (const { page } of [a, b]) {
    await page.locator("#notices li .text", { hasText: "Results at noon" }).waitFor();
    assert.deepEqual(await notices(page), ["Results at noon in the main hall.", `Voting closes soon ${INJECTION}`]);
  }

  step("screenshots at desktop width");
  await a.page.screenshot({ path: join(ARTIFACTS, "live-a.png"), fullPage: true });
  await b.page.screenshot({ path: join(ARTIFACTS, "live-b.png"), fullPage: true });

  step("at 390 px the page fits without scrolling sideways, and still votes");
  await b.page.setViewportSize({ width: 390, height: 844 });
  const overflow = await b.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, "the page is wider than a 390 px screen");
  for (const button of await b.page.locator("#options button").all()) {
    const box = await button.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, "a vote button sticks out of the screen");
  }
  await vote(b.page, "blue");
  for (const { page } of [a, b]) await expectTally(page, { red: 1, green: 2, blue: 1 });
  await b.page.screenshot({ path: join(ARTIFACTS, "live-390.png"), fullPage: true });

  const problems = [...a.problems, ...b.problems];
  assert.deepEqual(problems, [], "the pages reported problems");

  if (controlled) {
    step("the server stops: both pages go offline, count down to a retry and disable voting");
    await control("stop");
    for (const { page } of [a, b]) {
      await page.locator('#status[data-state="offline"]', { hasText: "retrying in" }).waitFor();
      assert.ok(await page.getByRole("button", { name: "Vote for red", exact: true }).isDisabled());
    }
    await a.page.screenshot({ path: join(ARTIFACTS, "live-offline.png"), fullPage: true });
    await b.page.screenshot({ path: join(ARTIFACTS, "live-offline-390.png"), fullPage: true });

    step("the server starts again: both pages reconnect by themselves and show its tally");
    await control("start");
    for (const { page } of [a, b]) {
      await page.locator('#status[data-state="online"]').waitFor({ timeout: 60_000 });
      // The votes were in the old server's memory only.
      await expectTally(page, { red: 0, green: 0, blue: 0 });
    }
    await vote(a.page, "blue");
    for (const { page } of [a, b]) await expectTally(page, { red: 0, green: 0, blue: 1 });
    // The notices stay on the pages: they were shown, and are not state.
    assert.equal((await notices(b.page)).length, 2);
    await a.page.screenshot({ path: join(ARTIFACTS, "live-reconnected.png"), fullPage: true });

    // While the server was down, Chromium logged each refused connection
    // as an error; anything else is a problem.
    const refused = /WebSocket connection to '.*' failed/;
    const after = [...a.problems, ...b.problems].filter((p) => !refused.test(p));
    assert.deepEqual(after, [], "the pages reported problems around the restart");
  }
  console.log("live: 1 passed, 0 failed");
} finally {
  endControl();
  await close();
}
