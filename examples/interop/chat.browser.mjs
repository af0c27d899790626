// Two Chromium pages chat with each other through examples/chat. Run by
// interop_test.go, or by hand against a running chat server:
//
//	CHAT_URL=http://127.0.0.1:8080 node chat.browser.mjs
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, control, controlled, endControl, launch, step, watch } from "./browser.mjs";

const url = process.env.CHAT_URL;
if (!url) throw new Error("set CHAT_URL to the chat server's http:// address");

const INJECTION = "<img src=x onerror=alert(1)>";

// enter opens the page and joins the room as name.
async function enter(context, name) {
  const page = await context.newPage();
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

  step("Bob joins and finds them in the history");
  const bob = await enter(context, "Bob");
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
  await third.getByLabel("Your name").fill("alice");
  await third.getByRole("button", { name: "Join" }).click();
  await third.locator("#join-error", { hasText: "already in the room" }).waitFor();
  await third.close();

  step("screenshots");
  await alice.page.screenshot({ path: join(ARTIFACTS, "chat-alice.png") });
  await bob.page.screenshot({ path: join(ARTIFACTS, "chat-bob.png") });

  const problems = [...alice.problems, ...bob.problems, ...thirdProblems];
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
