// Chromium against examples/echo from a page of another origin: a page
// served here on a port of its own opens a WebSocket to the echo server,
// as any site may (the echo allows every origin), and checks that text and
// binary come back. Run by interop_test.go, or by hand:
//
//	ECHO_URL=ws://127.0.0.1:9001 node echo.browser.mjs
import { createServer } from "node:http";
import { launch, step, watch } from "./browser.mjs";

const echoURL = process.env.ECHO_URL;
if (!echoURL) throw new Error("set ECHO_URL to the echo server's ws:// address");

// The page's own origin: a bare server on another port.
const page = `<!doctype html><meta charset="utf-8"><title>cross-origin echo</title>
<script>
window.runEcho = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const got = [];
  ws.onerror = () => reject(new Error("WebSocket error (refused?)"));
  ws.onclose = (e) => { if (got.length < 2) reject(new Error("closed " + e.code + " before the echoes")); };
  ws.onopen = () => { ws.send("hello from " + location.origin); ws.send(new Uint8Array([1, 2, 3, 250])); };
  ws.onmessage = (e) => {
    got.push(typeof e.data === "string" ? e.data : Array.from(new Uint8Array(e.data)).join(","));
    if (got.length === 2) { ws.close(1000); resolve({ origin: location.origin, got }); }
  };
});
</script>`;
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(page);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const pageURL = `http://127.0.0.1:${server.address().port}/`;

const browser = await launch();
try {
  const tab = await browser.context.newPage();
  const problems = watch(tab, "page");
  step(`open ${pageURL}`);
  await tab.goto(pageURL);
  step(`echo through ${echoURL}`);
  const result = await tab.evaluate((url) => window.runEcho(url), echoURL);
  const want = [`hello from ${result.origin}`, "1,2,3,250"];
  if (JSON.stringify(result.got) !== JSON.stringify(want)) {
    throw new Error(`echoed ${JSON.stringify(result.got)}, want ${JSON.stringify(want)}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  step(`a page of ${result.origin} used the echo at ${echoURL}`);
} finally {
  await browser.close();
  server.close();
}
