// Chromium against examples/echo -tls over HTTP/2 (RFC 8441). Several
// WebSockets from one page each echo text and binary; interop_test.go then
// checks in the echo's log that all of them came over HTTP/2, on one
// connection. Run by interop_test.go, or by hand against a running echo:
//
//	GODEBUG=http2xconnect=1 go run ./examples/echo -tls -addr 127.0.0.1:9443
//	ECHO_URL=https://127.0.0.1:9443 ECHO_SPKI=<its public key SHA-256> node echo-h2.browser.mjs
//
// Chromium sends a WebSocket over HTTP/2 only on an HTTP/2 connection it
// already has to that origin, with the same partition, and only if the
// server's SETTINGS offered extended CONNECT; otherwise it opens an
// HTTP/1.1 connection for it. A page of another origin, about:blank or a
// data: URL would not share the connection (checked by hand: they all go
// over HTTP/1.1). So the tab first opens the echo's own origin. The echo
// serves nothing but WebSockets and answers that request with 400 and a
// line of text, which is page enough: what matters is the HTTP/2
// connection the navigation leaves open, and the origin the WebSockets are
// then opened from.
import { join } from "node:path";
import { ARTIFACTS, launch, step, watch } from "./browser.mjs";

const echoURL = process.env.ECHO_URL;
if (!echoURL || !echoURL.startsWith("https://")) throw new Error("set ECHO_URL to the echo server's https:// address");
// The echo's certificate is self-signed. With its key's SHA-256 (logged
// at start) Chromium trusts that key and nothing else; without it, every
// certificate error is ignored.
const spki = process.env.ECHO_SPKI;
const certArgs = spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : ["--ignore-certificate-errors"];
const SOCKETS = Number(process.env.SOCKETS || 4);

const browser = await launch({ args: certArgs });
try {
  const tab = await browser.context.newPage();
  const problems = watch(tab, "page");
  // The protocol of each response, as the network stack reports it.
  const cdp = await browser.context.newCDPSession(tab);
  await cdp.send("Network.enable");
  const protocols = new Map();
  cdp.on("Network.responseReceived", (e) => protocols.set(e.response.url, e.response.protocol));

  step(`open ${echoURL}/ (the echo answers 400: it serves only WebSockets)`);
  const resp = await tab.goto(`${echoURL}/`);
  if (resp.status() !== 400) throw new Error(`the echo answered ${resp.status()}, want 400`);
  const navProto = protocols.get(`${echoURL}/`);
  if (navProto !== "h2") throw new Error(`the page came over ${navProto}, want h2: no HTTP/2 connection for the WebSockets to use`);
  // The refusal is text; the console errors for the 400s (the page, and
  // the favicon Chromium asks for after it) are expected. Any other
  // problem counts.
  const expected = /Failed to load resource: the server responded with a status of 400/;

  const wss = echoURL.replace(/^https:/, "wss:") + "/";
  step(`${SOCKETS} WebSockets to ${wss}, each echoing text and binary`);
  const results = await tab.evaluate(async ({ url, n }) => {
    const random = (len, seed) => {
      const b = new Uint8Array(len);
      let x = seed * 2654435761 + 1;
      for (let i = 0; i < len; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = x >>> 24;
      }
      return b;
    };
    const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
    const one = (i) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      // An empty message goes early: queued right behind a large one it
      // was, in most runs, never sent by Chromium over HTTP/2 (seen with
      // Debian's Chromium: the server's log shows the stream idle until
      // the page gives up, while a non-empty message in the same place,
      // or the same page over HTTP/1.1, always passed).
      const sent = [`socket ${i}: héllo 𝄞`, "", random(256, i), random(100 << 10, i + 100), "after"];
      const got = [];
      const timer = setTimeout(() => reject(new Error(`socket ${i}: ${got.length} of ${sent.length} echoes within 60 s (sizes ${got.map((m) => m.length)}), readyState ${ws.readyState}`)), 60_000);
      ws.onerror = () => reject(new Error(`socket ${i}: WebSocket error`));
      ws.onopen = () => sent.forEach((m) => ws.send(m));
      ws.onmessage = (e) => {
        got.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
        if (got.length === sent.length) ws.close(1000, "done");
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        const same = got.length === sent.length && sent.every((m, k) =>
          typeof m === "string" ? got[k] === m : got[k] instanceof Uint8Array && equal(got[k], m));
        if (!same) return reject(new Error(`socket ${i}: echoed ${got.length} of ${sent.length} messages, or not the same`));
        resolve({ socket: i, messages: got.length, code: e.code, wasClean: e.wasClean, protocol: ws.protocol, extensions: ws.extensions });
      };
    });
    return Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  }, { url: wss, n: SOCKETS });

  for (const r of results) {
    if (r.code !== 1000 || !r.wasClean) throw new Error(`socket ${r.socket} closed with ${r.code}, clean ${r.wasClean}`);
    step(`socket ${r.socket}: ${r.messages} messages echoed, closed ${r.code} cleanly, extensions "${r.extensions}"`);
  }
  const unexpected = problems.filter((p) => !expected.test(p));
  if (unexpected.length > 0) throw new Error(unexpected.join("\n"));

  // The results, on the page, for the screenshot.
  await tab.evaluate(({ results, navProto, url }) => {
    document.head.innerHTML = "<title>WebSockets over HTTP/2</title>";
    document.body.innerHTML = "";
    document.body.style.font = "16px system-ui, sans-serif";
    document.body.style.margin = "24px";
    const h = document.createElement("h1");
    h.textContent = `${results.length} WebSockets over HTTP/2 to ${url}`;
    const p = document.createElement("p");
    p.textContent = `The page came over ${navProto}; each socket below echoed text (one of them empty) and binary (256 B and 100 KiB), then closed.`;
    const table = document.createElement("table");
    table.style.borderCollapse = "collapse";
    const row = (cells, tag) => {
      const tr = document.createElement("tr");
      for (const c of cells) {
        const td = document.createElement(tag);
        td.textContent = c;
        td.style.border = "1px solid #999";
        td.style.padding = "4px 12px";
        tr.append(td);
      }
      table.append(tr);
    };
    row(["socket", "messages echoed", "close code", "clean"], "th");
    for (const r of results) row([r.socket, r.messages, r.code, r.wasClean], "td");
    document.body.append(h, p, table);
  }, { results, navProto, url: wss });
  await tab.screenshot({ path: join(ARTIFACTS, "echo-h2.png") });
  step(`${SOCKETS} WebSockets echoed from ${echoURL}; the page came over ${navProto}; screenshot echo-h2.png`);
} finally {
  await browser.close();
}
