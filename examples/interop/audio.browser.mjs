// Chromium pages talk and listen through examples/audio, recording from
// Chromium's fake microphone (a beep). Run by interop_test.go, or by hand
// against a running audio server:
//
//	AUDIO_URL=http://127.0.0.1:8083 node audio.browser.mjs
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, launch, step, watch } from "./browser.mjs";

const url = process.env.AUDIO_URL;
if (!url) throw new Error("set AUDIO_URL to the audio server's http:// address");

const ROOM = "interop";
const PHONE = { width: 390, height: 760 };
const CLUSTER_ID = "1f43b675"; // a WebM Cluster's element ID
const EBML_ID = "1a45dfa3"; // a WebM stream's first bytes

// The fake microphone, with no permission prompt, and playback without a
// click, so that a listener's page plays the talk live as a person who
// had clicked before would hear it.
const { context, close } = await launch({
  args: [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
  ],
});

// A tap on every page's WebSockets, installed before the page's own
// script: it keeps each binary message sent and received, so the test
// compares the bytes themselves, not only the page's counts.
await context.addInitScript(() => {
  const tap = { sent: [], received: [] };
  window.__tap = tap;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data !== "string") tap.sent.push(data instanceof Blob ? data : new Blob([data]));
    return send.call(this, data);
  };
  window.WebSocket = class extends WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        if (typeof ev.data !== "string") tap.received.push(new Blob([ev.data]));
      });
    }
  };
});

// tapped returns, as a Buffer, the binary messages a page sent or
// received, and how many there were.
async function tapped(page, which) {
  const { b64, count } = await page.evaluate(async (which) => {
    const parts = window.__tap[which];
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { b64: btoa(s), count: parts.length };
  }, which);
  return { bytes: Buffer.from(b64, "base64"), count };
}

async function enter(name, viewport, init) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  if (init) await page.addInitScript(init);
  const problems = watch(page, name);
  await page.goto(`${url}/?room=${ROOM}`);
  await page.locator('#status[data-state="online"]').waitFor();
  return { page, problems };
}

// sentAtLeast waits until the speaker's page has sent n bytes of audio.
function sentAtLeast(page, n) {
  return page.waitForFunction((n) => Number(document.getElementById("talk").dataset.sent || 0) >= n, n,
    { polling: 100 });
}

// talkEntry returns the page's entry for the talk, once it has ended.
async function endedTalk(page) {
  const li = page.locator('#talks li[data-state="ended"]');
  await li.waitFor();
  return li.evaluate((li) => ({
    label: li.querySelector(".talk-label").textContent,
    received: Number(li.dataset.received),
    bytes: Number(li.dataset.bytes),
    sent: li.dataset.sent === undefined ? null : Number(li.dataset.sent),
  }));
}

// duration returns the talk's player's duration as first reported, and
// once finite. A WebM stream from MediaRecorder declares none, so a
// player given it whole reports Infinity until it has seen the end:
// seeking far past it makes it look. (A MediaSource's duration is finite
// once the page has called endOfStream.)
function duration(page) {
  return page.locator('#talks li[data-state="ended"] audio').evaluate(async (a) => {
    if (a.readyState < 1) await new Promise((r) => a.addEventListener("loadedmetadata", r, { once: true }));
    const first = a.duration;
    if (!Number.isFinite(a.duration)) {
      await new Promise((r) => {
        a.addEventListener("durationchange", r, { once: true });
        a.currentTime = 1e9;
      });
      a.currentTime = 0;
    }
    return { first: String(first), duration: a.duration };
  });
}

try {
  step("a listener and a speaker enter the room");
  const listener = await enter("listener");
  const speaker = await enter("speaker");
  // A browser without MediaSource gets each talk whole, once it ends.
  const noMSE = await enter("no-mediasource", null, () => {
    Object.defineProperty(window, "MediaSource", { value: undefined });
  });
  for (const { page } of [listener, speaker, noMSE]) await page.locator("#here", { hasText: "3 here" }).waitFor();

  step("the speaker talks; the listener hears it live");
  await speaker.page.getByRole("button", { name: "Talk" }).click();
  await speaker.page.getByRole("button", { name: "Stop" }).waitFor();
  await listener.page.locator('#talks li[data-state="live"]').waitFor();
  await sentAtLeast(speaker.page, 8000); // about a second at 64 kbit/s

  step("the listener asks for the floor too, and is told to wait");
  await listener.page.getByRole("button", { name: "Talk" }).click();
  await listener.page.locator("#talk-error", { hasText: "Someone else is talking" }).waitFor();

  step("a late listener, phone-sized, joins mid-talk and hears it from a cluster");
  const late = await enter("late", PHONE);
  await late.page.waitForFunction(() => Number(document.querySelector('#talks li[data-state="live"]')?.dataset.received || 0) > 0,
    null, { polling: 100 });
  await sentAtLeast(speaker.page, 24000); // about three seconds in all
  const playing = await listener.page.locator('#talks li[data-state="live"] audio').evaluate((a) => a.currentTime);
  await listener.page.screenshot({ path: join(ARTIFACTS, "audio-live.png") });
  await speaker.page.getByRole("button", { name: "Stop" }).click();

  step("the talk ends on every page");
  const heard = {};
  for (const [name, { page }] of Object.entries({ speaker, listener, late, noMSE })) heard[name] = await endedTalk(page);
  console.log(JSON.stringify(heard));
  await listener.page.waitForFunction(() => document.getElementById("talk-error").textContent === "",
    null, { polling: 100 }); // the floor is free again
  const total = heard.speaker.bytes;
  assert.ok(total > 20000, `the talk was ${total} bytes`);
  assert.equal(heard.speaker.sent, total, "the speaker sent what the server relayed");
  assert.equal(heard.speaker.received, total, "the speaker heard its whole talk back");
  assert.equal(heard.listener.received, total, "the listener heard the whole talk");
  assert.equal(heard.noMSE.received, total, "the page without MediaSource got the whole talk");
  assert.ok(heard.late.received > 0 && heard.late.received < total, `the late listener heard ${heard.late.received} of ${total} bytes`);
  assert.match(heard.speaker.label, /came back, all of it/);
  assert.match(heard.late.label, /joined late/);
  assert.ok(playing > 0, `the listener's player was at ${playing} s while the talk went on`);

  step("bytes sent equal bytes received, byte for byte");
  const sent = await tapped(speaker.page, "sent");
  const echoed = await tapped(speaker.page, "received");
  const relayed = await tapped(listener.page, "received");
  const whole = await tapped(noMSE.page, "received");
  writeFileSync(join(ARTIFACTS, "audio-talk.webm"), sent.bytes);
  assert.equal(sent.bytes.length, total);
  assert.ok(sent.count >= 8, `the talk went out in ${sent.count} messages, want one every 250 ms`);
  assert.ok(sent.bytes.equals(echoed.bytes), "the speaker's talk came back changed");
  assert.ok(relayed.bytes.equals(sent.bytes), "the listener heard other bytes than were sent");
  assert.ok(whole.bytes.equals(sent.bytes), "the page without MediaSource got other bytes than were sent");
  assert.equal(sent.bytes.subarray(0, 4).toString("hex"), EBML_ID);

  step("the late listener got the header, then the talk from a cluster on");
  const joined = await tapped(late.page, "received");
  const at = joined.bytes.indexOf(Buffer.from(CLUSTER_ID, "hex"));
  assert.ok(at > 0, "no cluster in what the late listener heard");
  const header = sent.bytes.indexOf(Buffer.from(CLUSTER_ID, "hex"));
  assert.equal(at, header, "the late listener's header is not the talk's");
  assert.ok(joined.bytes.subarray(0, at).equals(sent.bytes.subarray(0, header)), "the late listener's header differs");
  const rest = joined.bytes.subarray(at);
  assert.ok(sent.bytes.subarray(sent.bytes.length - rest.length).equals(rest), "the late listener's stream is not the talk's tail");

  step("every page's player has a finite duration above zero");
  for (const [name, { page }] of Object.entries({ speaker, listener, late, noMSE })) {
    const d = await duration(page);
    console.log(`${name}: ${d.duration.toFixed(2)} s (first reported: ${d.first})`);
    assert.ok(Number.isFinite(d.duration) && d.duration > 0, `${name}: duration ${d.duration}`);
  }

  step("the speaker plays its talk back");
  const back = speaker.page.locator('#talks li[data-state="ended"] audio');
  await back.evaluate((a) => a.play());
  await speaker.page.waitForFunction(() => document.querySelector('#talks li[data-state="ended"] audio').currentTime > 0.5,
    null, { polling: 100 });

  step("nothing is wider than a phone on the late page");
  const overflow = await late.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);

  await listener.page.screenshot({ path: join(ARTIFACTS, "audio-listener.png") });
  await speaker.page.screenshot({ path: join(ARTIFACTS, "audio-speaker.png") });
  await late.page.screenshot({ path: join(ARTIFACTS, "audio-late-390.png"), fullPage: true });

  await noMSE.page.screenshot({ path: join(ARTIFACTS, "audio-no-mediasource.png") });

  const problems = [listener, speaker, late, noMSE].flatMap((p) => p.problems);
  assert.deepEqual(problems, [], "the pages reported problems");
  step("done");
} finally {
  await close();
}
