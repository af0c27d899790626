// The upload page: hashes the chosen file, declares it to the server, then
// sends it in binary chunks, a few at a time, moving the progress bar as
// the server confirms what it has written.
"use strict";

// WINDOW is how many chunks may be on their way unconfirmed. One would
// leave the connection idle for a round trip per chunk; a few keep it busy
// while bounding what the browser buffers.
const WINDOW = 4;

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("form"),
  file: $("file"),
  limit: $("limit"),
  start: $("start"),
  progress: $("progress"),
  percent: $("percent"),
  status: $("status"),
  done: $("done"),
  empty: $("empty"),
};

let maxSize = null; // from /config.json; the server checks again anyway

function formatBytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  if (i === 0) return `${n} bytes`;
  // One decimal, but "100 MiB" rather than "100.0 MiB".
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`;
}

function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = kind;
}

function setProgress(done, total) {
  const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
  ui.progress.value = pct;
  ui.percent.textContent = `${pct}%`;
  return pct;
}

function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

// transfer runs the protocol of protocol.go for one file and resolves with
// the server's "done" message.
function transfer(name, data, sha256) {
  return new Promise((resolve, reject) => {
    const size = data.byteLength;
    const ws = new WebSocket(socketURL());
    let chunkSize = 0;
    let sent = 0;
    let confirmed = 0;
    let settled = false;

    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      if (err) reject(err);
      else resolve(result);
    };
    const pump = () => {
      while (sent < size && sent - confirmed < WINDOW * chunkSize) {
        const n = Math.min(chunkSize, size - sent);
        ws.send(new Uint8Array(data, sent, n)); // a view: no copy
        sent += n;
      }
    };

    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "start", name, size, sha256 }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      switch (msg.type) {
        case "ready":
          chunkSize = msg.chunkSize;
          setStatus(`Uploading ${name}…`);
          pump();
          break;
        case "progress": {
          confirmed = msg.received;
          const pct = setProgress(confirmed, size);
          setStatus(`Uploading ${name}: ${formatBytes(confirmed)} of ${formatBytes(size)} (${pct}%)`);
          pump();
          break;
        }
        case "done":
          finish(null, msg);
          break;
        case "error":
          finish(new Error(msg.error));
          break;
      }
    };
    ws.onclose = (ev) => {
      const why = ev.reason || `the connection closed (code ${ev.code})`;
      finish(new Error(`The upload did not finish: ${why}.`));
    };
  });
}

function addDone(msg) {
  const li = document.createElement("li");
  li.dataset.sha256 = msg.sha256;
  const file = document.createElement("div");
  file.className = "file";
  file.textContent = msg.name;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${formatBytes(msg.size)} · SHA-256 ${msg.sha256}`;
  li.append(file, meta);
  ui.done.prepend(li);
  ui.empty.hidden = true;
}

async function upload(file) {
  if (maxSize !== null && file.size > maxSize) {
    throw new Error(`${file.name} is ${formatBytes(file.size)}; the server takes at most ${formatBytes(maxSize)}.`);
  }
  if (!crypto.subtle) {
    throw new Error("This page needs a secure context (https, or localhost) to compute SHA-256.");
  }
  setProgress(0, 1);
  setStatus(`Computing the SHA-256 of ${file.name}…`);
  const data = await file.arrayBuffer();
  const sha256 = toHex(await crypto.subtle.digest("SHA-256", data));
  setStatus("Connecting…");
  const done = await transfer(file.name, data, sha256);
  setProgress(1, 1);
  const renamed = done.name !== file.name ? ` (saved as ${done.name}, as that name was taken)` : "";
  setStatus(`Uploaded ${file.name}${renamed}.`, "ok");
  addDone(done);
}

ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = ui.file.files[0];
  if (!file) {
    setStatus("Choose a file first.", "bad");
    return;
  }
  ui.start.disabled = true;
  try {
    await upload(file);
  } catch (err) {
    setStatus(err.message, "bad");
  } finally {
    ui.start.disabled = false;
  }
});

fetch("config.json")
  .then((r) => r.json())
  .then((cfg) => {
    maxSize = cfg.maxSize;
    ui.limit.textContent = `Files up to ${formatBytes(maxSize)}.`;
  })
  .catch(() => {
    // The server checks the size anyway.
  });
