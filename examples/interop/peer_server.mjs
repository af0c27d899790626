// Node's ws package as a server, for the library's client (websocket.Dial)
// to talk to. Started by client_test.go; by hand:
//
//	node peer_server.mjs
//
// It listens on free loopback ports, one per configuration below, and
// prints one JSON line naming them:
//
//	{"listening":{"plain":"127.0.0.1:41234","deflate":"127.0.0.1:41235",...}}
//
// The path of a connection's URL says what the server does with it, and its
// query's id names the connection in the events the server prints, one
// JSON line each ({"id":"…","event":"close","code":1000,"reason":"bye"}),
// so that the test can check what this side saw:
//
//	/echo        sends every message back with its type
//	/fragments   sends messages in fragments (a ping inside one of them)
//	/ping        pings with a 125-byte and an empty payload, reports the
//	             pongs, then sends "pongs received"
//	/close       sends "closing", then closes with 4001
//	/wait-close  waits for the client to close
//	/in-order    sends 10,000 numbered messages
//
// Every connection reports "open" (with the negotiated extensions and
// subprotocol) and "close" (with the code and reason the client sent).
// SIGTERM or SIGINT closes the servers; the process then exits 0.
import http from "node:http";
import { WebSocketServer } from "ws";

// The permessage-deflate setups. threshold 0 compresses every message, so
// that small ones are compressed too.
const configs = {
  plain: { perMessageDeflate: false },
  deflate: { perMessageDeflate: { threshold: 0 } },
  "deflate-no-takeover": {
    perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
  "deflate-window-10": { perMessageDeflate: { threshold: 0, serverMaxWindowBits: 10 } },
};

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// pattern returns n bytes that both sides can compute: the test checks
// what arrives against its own copy.
function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) % 251;
  return b;
}

const behaviours = {
  "/echo": (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  },

  "/fragments": (ws, id) => {
    ws.on("pong", (data) => emit({ id, event: "pong", data: data.toString() }));
    // Text whose 4-byte character is cut in two by the fragment boundary.
    const clef = Buffer.from("𝄞");
    ws.send(Buffer.concat([Buffer.from("a"), clef.subarray(0, 2)]), { binary: false, fin: false });
    ws.send(Buffer.concat([clef.subarray(2), Buffer.from("b")]), { fin: true });
    // Binary in three fragments, with a ping between the second and the
    // third: the client must answer it in the middle of the message.
    ws.send(pattern(100_000, 1), { binary: true, fin: false });
    ws.send(pattern(100_000, 2), { fin: false });
    ws.ping(`mid-message ${id}`);
    ws.send(pattern(100_000, 3), { fin: true });
    // An empty message in two empty fragments.
    ws.send(Buffer.alloc(0), { binary: true, fin: false });
    ws.send(Buffer.alloc(0), { fin: true });
    // 16 MiB in 1 MiB fragments.
    for (let i = 0; i < 16; i++) ws.send(pattern(1 << 20, 10 + i), { binary: true, fin: i === 15 });
    ws.send("end");
  },

  "/ping": (ws, id) => {
    const payloads = [Buffer.from("p".repeat(125)), Buffer.alloc(0)];
    const got = [];
    ws.on("pong", (data) => {
      emit({ id, event: "pong", data: data.toString() });
      got.push(data);
      if (got.length === payloads.length) ws.send("pongs received");
    });
    for (const p of payloads) ws.ping(p);
  },

  "/close": (ws) => {
    ws.send("closing");
    ws.close(4001, "custom reason ✓");
  },

  "/wait-close": () => {},

  "/in-order": (ws) => {
    for (let i = 0; i < 10_000; i++) ws.send(`message ${i}`);
  },
};

async function listen(name, config) {
  const server = http.createServer((req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain" });
    res.end("a WebSocket server\n");
  });
  const wss = new WebSocketServer({ server, maxPayload: 64 << 20, ...config });
  wss.on("connection", (ws, req) => {
    const url = new URL(req.url, "http://x");
    const id = url.searchParams.get("id") ?? "";
    emit({ id, event: "open", path: url.pathname, extensions: ws.extensions, protocol: ws.protocol });
    ws.on("close", (code, reason) => emit({ id, event: "close", code, reason: reason.toString() }));
    ws.on("error", (err) => emit({ id, event: "error", message: String(err) }));
    const behave = behaviours[url.pathname];
    if (!behave) {
      emit({ id, event: "error", message: `no behaviour for ${url.pathname}` });
      ws.close(4404, "unknown path");
      return;
    }
    behave(ws, id);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return { name, server, wss };
}

const servers = await Promise.all(Object.entries(configs).map(([name, config]) => listen(name, config)));
const addrs = {};
for (const { name, server } of servers) {
  const { address, port } = server.address();
  addrs[name] = `${address}:${port}`;
}
emit({ listening: addrs });

function stop() {
  for (const { server, wss } of servers) {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
