// Chromium pages chat with each other through examples/chat, one of them
// as wide as a phone (390 px). Run by interop_test.go, or by hand against a
// running chat server:
//
//	CHAT_URL=http://127.0.0.1:8080 node chat.browser.mjs
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, control, controlled, endControl, launch, step, watch } from "./browser.mjs";

const url = process.env.CHAT_URL;
if (!url) throw new Error("set CHAT_URL to the chat server's http:// address");

const INJECTION = "<img src=x onerror=alert(1)>";

const PHONE = { width: 390, height: 760 };

// enter opens the page, at the given viewport size if any, and joins the
// room as name.
async function enter(context, name, viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = watch(page, name);
  await page.goto(url);
  await page.locator('#status[data-state="online"]').waitFor();
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: "Join" }).click();
  await page.locator("#room").waitFor({ state: "visible" });
  return { page, problems };
}

async function say(page, text) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

// waitForEntry waits until the log shows an entry of type whose text
// contains text, and returns its locator.
async function waitForEntry(page, type, text) {
  const entry = page.locator(`#log li[data-type="${type}"]`).filter({ hasText: text });
  await entry.first().waitFor();
  return entry;
}

// logPosition says where the log is scrolled: gap is how far its bottom
// is below the visible part.
function logPosition(page) {
  return page.locator("#log").evaluate((log) => ({
    top: log.scrollTop,
    gap: log.scrollHeight - log.scrollTop - log.clientHeight,
    overflows: log.scrollHeight > log.clientHeight,
  }));
}

// assertAtNewest checks that the log overflows and shows its newest event.
async function assertAtNewest(page, when) {
  const pos = await logPosition(page);
  assert.ok(pos.overflows, `${when}: the log should be long enough to scroll`);
  assert.ok(pos.gap < 2, `${when}: the log is not scrolled to the newest event: ${JSON.stringify(pos)}`);
}

// scrollLogTo scrolls the log as a person would and waits for the page to
// see the scroll.
function scrollLogTo(page, top) {
  return page.locator("#log").evaluate((log, top) => new Promise((resolve) => {
    log.addEventListener("scroll", resolve, { once: true });
    log.scrollTop = top;
  }), top);
}

// singleLine reports whether the element selected takes one line of text.
function singleLine(page, selector) {
  return page.locator(selector).evaluate((el) =>
    el.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(el).lineHeight));
}

// messages returns the log's messages as "name: text", in order.
function messages(page) {
  return page.locator('#log li[data-type="message"]').evaluateAll((lis) =>
    lis.map((li) => `${li.querySelector(".who").textContent}: ${li.querySelector(".text").textContent}`));
}

const { context, close } = await launch();
try {
  step("Alice joins and says two things, one an HTML-injection attempt");
  const alice = await enter(context, "Alice");
  await waitForEntry(alice.page, "join", "Alice joined");
  await say(alice.page, "Hello from Alice");
  await say(alice.page, INJECTION);
  await waitForEntry(alice.page, "message", INJECTION);

  step("Bob joins on a phone-sized page and finds them in the history");
  const bob = await enter(context, "Bob", PHONE);
  await waitForEntry(bob.page, "join", "Alice joined");
  await waitForEntry(bob.page, "join", "Bob joined");
  await waitForEntry(bob.page, "message", INJECTION);
  assert.deepEqual(await messages(bob.page), ["Alice: Hello from Alice", `Alice: ${INJECTION}`]);

  step("Alice sees Bob join, and his answer");
  await waitForEntry(alice.page, "join", "Bob joined");
  await say(bob.page, "Hi Alice! Bob here — ça va ?");
  await waitForEntry(alice.page, "message", "Bob here");
  await waitForEntry(bob.page, "message", "Bob here");
  const expected = ["Alice: Hello from Alice", `Alice: ${INJECTION}`, "Bob: Hi Alice! Bob here — ça va ?"];
  assert.deepEqual(await messages(alice.page), expected);
  assert.deepEqual(await messages(bob.page), expected);

  step("the injection attempt is text on both pages, not an element");
  for (const { page } of [alice, bob]) {
    assert.equal(await page.locator("#log img").count(), 0, "an <img> reached the DOM");
  }

  step("a name in use is refused with a message");
  const third = await context.newPage();
  const thirdProblems = watch(third, "third");
  await third.goto(url);
  await third.locator('#status[data-state="online"]').waitFor();
  const nameBox = third.getByLabel("Your name");
  await nameBox.fill("alice");
  await third.getByRole("button", { name: "Join" }).click();
  await third.locator("#join-error", { hasText: "already in the room" }).waitFor();

  step("a name is held to 32 characters, counted as the server counts them: code points, not UTF-16 units");
  await nameBox.fill("");
  await nameBox.pressSequentially("𝄞".repeat(33)); // 66 UTF-16 units
  const clefs = "𝄞".repeat(32);
  assert.equal(await nameBox.inputValue(), clefs);
  await third.getByRole("button", { name: "Join" }).click();
  await waitForEntry(third, "join", `${clefs} joined`);
  await third.close();

  step("long messages, so the log overflows");
  for (let i = 1; i <= 3; i++) {
    await say(alice.page, `Long message ${i}: ${"all work and no play ".repeat(30)}`);
    await waitForEntry(alice.page, "message", `Long message ${i}:`);
  }

  step("a newcomer's log opens on the newest event and follows new ones");
  const carol = await enter(context, "Carol");
  await waitForEntry(carol.page, "join", "Carol joined");
  await assertAtNewest(carol.page, "on joining");
  await say(alice.page, "Welcome, Carol");
  await waitForEntry(carol.page, "message", "Welcome, Carol");
  await assertAtNewest(carol.page, "after a new message");

  step("a reader who scrolled up is not pulled down by new messages");
  await scrollLogTo(carol.page, 0);
  await say(alice.page, "Are you reading the history?");
  await waitForEntry(carol.page, "message", "reading the history");
  assert.equal((await logPosition(carol.page)).top, 0, "the log moved while the person read the history");

  step("a reloaded page rejoins and opens on the newest event");
  await carol.page.reload();
  await carol.page.locator("#room").waitFor({ state: "visible" });
  await waitForEntry(carol.page, "message", "reading the history");
  await assertAtNewest(carol.page, "after a reload");

  step("a message refused by the rate limit stays in the box, and the page says why");
  const box = carol.page.getByRole("textbox", { name: "Message" });
  // A burst typed and sent in one go, faster than any round trip, so that
  // how busy the machine is cannot matter: the burst is 10 messages, the
  // rejoin took one, and the refill (2 a second) cannot make up for the
  // rest. The server answers in order, so once the last message is shown
  // or refused, every one before it has been too.
  const BURST = 20;
  let refused = [];
  for (let round = 1; round <= 3 && refused.length === 0; round++) {
    const texts = Array.from({ length: BURST }, (_, i) => `quick ${round}.${i + 1}`);
    await carol.page.evaluate((texts) => {
      const form = document.getElementById("send-form");
      const text = document.getElementById("text");
      for (const t of texts) {
        text.value = t;
        form.requestSubmit();
      }
    }, texts);
    const last = texts[BURST - 1];
    await carol.page.waitForFunction((last) => {
      const shown = [...document.querySelectorAll('#log li[data-type="message"] .text')].some((el) => el.textContent === last);
      return shown || document.getElementById("send-error").textContent.includes(last) ||
        document.getElementById("text").value === last;
    }, last, { polling: 100 });
    const shown = new Set(await messages(carol.page));
    refused = texts.filter((t) => !shown.has(`Carol: ${t}`));
  }
  assert.ok(refused.length > 0, "the rate limit never refused a message");
  // The first refused message is back in the box; the page names the
  // others it could not put there.
  assert.equal(await box.inputValue(), refused[0], "the refused message left the box");
  const said = refused.length === 1 ? "back in the box" : `Not sent: “${refused[refused.length - 1]}”`;
  await carol.page.locator("#send-error", { hasText: "too fast" }).filter({ hasText: said }).waitFor();
  await carol.page.screenshot({ path: join(ARTIFACTS, "chat-refused.png") });
  await carol.page.close();

  step("at phone width, the status line and the log fit");
  for (const state of ["online", "offline"]) {
    if (state === "offline") {
      // What the page shows while the server is away, without stopping it.
      await bob.page.evaluate(() => {
        document.getElementById("status").dataset.state = "offline";
        document.getElementById("status-text").textContent = "Server went away — retrying in 12 s";
        document.getElementById("retry").hidden = false;
      });
    }
    assert.ok(await singleLine(bob.page, "#status-text"), `${state}: the status text wraps`);
    if (state === "offline") assert.ok(await singleLine(bob.page, "#retry"), "the Retry button wraps");
    const width = await bob.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${state}: the page is ${width} px wide, wider than the phone`);
    await bob.page.screenshot({ path: join(ARTIFACTS, `chat-phone-${state}.png`) });
  }
  await bob.page.evaluate(() => {
    document.getElementById("status").dataset.state = "online";
    document.getElementById("status-text").textContent = "Online";
    document.getElementById("retry").hidden = true;
  });

  step("screenshots");
  await alice.page.screenshot({ path: join(ARTIFACTS, "chat-alice.png") });
  await bob.page.screenshot({ path: join(ARTIFACTS, "chat-bob.png") });

  const problems = [...alice.problems, ...bob.problems, ...thirdProblems, ...carol.problems];
  assert.deepEqual(problems, [], "the pages reported problems");

  if (controlled) {
    step("the server stops: both pages go offline and count down to a retry");
    await control("stop");
    for (const { page } of [alice, bob]) {
      await page.locator('#status[data-state="offline"]', { hasText: "retrying in" }).waitFor();
    }
    await alice.page.screenshot({ path: join(ARTIFACTS, "chat-offline.png") });

    step("the server starts again: both pages reconnect and rejoin by themselves");
    await control("start");
    for (const { page } of [alice, bob]) {
      await page.locator('#status[data-state="online"]').waitFor({ timeout: 60_000 });
      await page.locator("#log li.notice", { hasText: "The server restarted" }).waitFor();
    }
    await waitForEntry(alice.page, "join", "Bob joined");
    await waitForEntry(bob.page, "join", "Alice joined");
    await say(alice.page, "Back again");
    await waitForEntry(bob.page, "message", "Back again");
    await alice.page.screenshot({ path: join(ARTIFACTS, "chat-reconnected.png") });

    // While the server was down, Chromium logged each refused connection
    // as an error; anything else is a problem.
    const refused = /WebSocket connection to '.*' failed/;
    const after = [...alice.problems, ...bob.problems].filter((p) => !refused.test(p));
    assert.deepEqual(after, [], "the pages reported problems around the restart");
  }
  console.log("chat: 1 passed, 0 failed");
} finally {
  endControl();
  await close();
}
