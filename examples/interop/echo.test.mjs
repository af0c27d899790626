// Node's ws package against examples/echo. Run by interop_test.go, or by
// hand against a running echo server:
//
//	ECHO_URL=ws://127.0.0.1:9001 node --test echo.test.mjs
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";

const url = process.env.ECHO_URL;
if (!url) throw new Error("set ECHO_URL to the echo server's ws:// address");

// Each variant runs every case with its own connection options and says
// which extensions the handshake must settle on. examples/echo accepts
// permessage-deflate with context takeover both ways; ws offers
// "permessage-deflate; client_max_window_bits" by default (the server then
// asks it for its own 8 KiB window), and the small-window variant asks for
// 512-byte windows both ways, which zlib's inflater holds the server to.
// threshold 0 makes ws compress every message.
const variants = [
  { name: "no extensions", options: { perMessageDeflate: false }, extensions: "" },
  { name: "permessage-deflate", options: { perMessageDeflate: { threshold: 0 } }, extensions: "permessage-deflate" },
  {
    name: "permessage-deflate, 512-byte windows",
    options: { perMessageDeflate: { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 } },
    extensions: "permessage-deflate",
  },
];

const TIMEOUT_MS = 60_000;

// open connects and resolves once the handshake is done, with a queue of
// the messages that arrive.
function open(options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ...options, handshakeTimeout: 15_000, maxPayload: 64 << 20 });
    const inbox = [];
    const waiting = [];
    let closed = null;
    ws.on("message", (data, isBinary) => {
      const msg = { data, isBinary };
      const w = waiting.shift();
      if (w) w.resolve(msg);
      else inbox.push(msg);
    });
    ws.on("close", (code) => {
      closed = new Error(`closed (${code}) while waiting for a message`);
      for (const w of waiting.splice(0)) w.reject(closed);
    });
    ws.next = () => {
      if (inbox.length > 0) return Promise.resolve(inbox.shift());
      if (closed) return Promise.reject(closed);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    };
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

// withConn runs fn with a fresh connection and closes it cleanly after.
async function withConn(variant, fn) {
  const ws = await open(variant.options);
  try {
    assert.equal(ws.extensions, variant.extensions, "negotiated extensions");
    await fn(ws);
  } finally {
    ws.terminate();
  }
}

async function roundTrip(ws, payload, binary) {
  ws.send(payload, { binary });
  const { data, isBinary } = await ws.next();
  assert.equal(isBinary, binary, "message type");
  return data;
}

for (const variant of variants) {
  describe(variant.name, { timeout: TIMEOUT_MS }, () => {
    for (const [name, text] of [
      ["ASCII text", "hello, echo"],
      ["empty text", ""],
      ["4-byte UTF-8 text", "𝄞 G clef, 😀, and ünïcödé"],
    ]) {
      test(name, () =>
        withConn(variant, async (ws) => {
          const got = await roundTrip(ws, text, false);
          assert.equal(got.toString("utf8"), text);
        }));
    }

    for (const size of [0, 125, 126, 65535, 65536, 16 << 20]) {
      test(`binary of ${size} bytes`, () =>
        withConn(variant, async (ws) => {
          const payload = randomBytes(size);
          const got = await roundTrip(ws, payload, true);
          assert.equal(got.length, size);
          assert.ok(payload.equals(got), "payload differs");
        }));
    }

    // Messages alike enough that each compresses against the ones before
    // it, and long enough to tempt a compressor past a 512-byte window.
    test("similar JSON messages, compressed against earlier ones", () =>
      withConn(variant, async (ws) => {
        for (let i = 0; i < 300; i++) {
          const msg = JSON.stringify({ type: "tick", seq: i, room: `room-${i % 7}`, pad: "x".repeat(i % 50), text: "hello ".repeat(i % 90) });
          const got = await roundTrip(ws, msg, false);
          assert.equal(got.toString("utf8"), msg);
        }
      }));

    test("10,000 messages come back in order", () =>
      withConn(variant, async (ws) => {
        const n = 10_000;
        for (let i = 0; i < n; i++) ws.send(`message ${i}`);
        for (let i = 0; i < n; i++) {
          const { data, isBinary } = await ws.next();
          assert.equal(isBinary, false);
          if (data.toString() !== `message ${i}`) {
            assert.fail(`message ${i} came back as ${JSON.stringify(data.toString())}`);
          }
        }
      }));

    test("ping is answered with the same payload", () =>
      withConn(variant, async (ws) => {
        const payload = Buffer.from("are you there? 𝄞");
        const pong = new Promise((resolve) => ws.once("pong", resolve));
        ws.ping(payload);
        assert.deepEqual(await pong, payload);
      }));

    test("close 1000 is answered with 1000", () =>
      withConn(variant, async (ws) => {
        const closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason })));
        ws.close(1000, "done");
        const { code } = await closed;
        assert.equal(code, 1000);
      }));
  });
}
