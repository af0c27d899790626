// The upload page: it sends the chosen file in binary chunks, a few at a
// time, hashing each chunk as it goes, moves the progress bar as the server
// confirms what it has written, and lists the files the server holds.
import { SHA256 } from "./sha256.js";

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
  files: $("files"),
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

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

// transfer runs the protocol of protocol.go for one file and resolves with
// the server's "done" message. It reads the file a chunk at a time, when
// the window has room for it, and hashes each chunk before sending it; the
// SHA-256 goes last, in "end".
function transfer(file) {
  return new Promise((resolve, reject) => {
    const size = file.size;
    const hash = new SHA256();
    const ws = new WebSocket(socketURL());
    let chunkSize = 0;
    let sent = 0;
    let confirmed = 0;
    let pumping = false; // a pump is reading the file: one at a time
    let ended = false; // the hash has gone
    let settled = false;

    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      if (err) reject(err);
      else resolve(result);
    };
    // pump sends chunks while the window has room, then the hash once the
    // last chunk is sent. A progress message calls it again as the server
    // catches up.
    const pump = async () => {
      if (pumping) return;
      pumping = true;
      try {
        while (!settled && sent < size && sent - confirmed < WINDOW * chunkSize) {
          const n = Math.min(chunkSize, size - sent);
          const chunk = new Uint8Array(await file.slice(sent, sent + n).arrayBuffer());
          if (settled) return;
          hash.update(chunk);
          ws.send(chunk);
          sent += n;
        }
        if (!settled && sent === size && !ended) {
          ended = true;
          ws.send(JSON.stringify({ type: "end", sha256: hash.hex() }));
        }
      } catch (err) {
        // Reading fails if the file changed on disk since it was chosen.
        finish(new Error(`Could not read ${file.name}: ${err.message}`));
      } finally {
        pumping = false;
      }
    };

    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "start", name: file.name, size }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      switch (msg.type) {
        case "ready":
          chunkSize = msg.chunkSize;
          setStatus(`Uploading ${file.name}…`);
          pump();
          break;
        case "progress": {
          confirmed = msg.received;
          const pct = setProgress(confirmed, size);
          setStatus(`Uploading ${file.name}: ${formatBytes(confirmed)} of ${formatBytes(size)} (${pct}%)`);
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

// showFile adds a stored file to the list, newest first, with a link that
// downloads it. sha256 is known for the files uploaded from this page.
function showFile({ name, size, modified, sha256 }, where = "prepend") {
  const li = document.createElement("li");
  li.dataset.name = name;
  const link = document.createElement("a");
  link.className = "file";
  link.href = `files/${encodeURIComponent(name)}`;
  link.download = name;
  link.textContent = name; // text, never markup: the name is the uploader's
  const meta = document.createElement("div");
  meta.className = "meta";
  const when = new Date(modified).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  meta.textContent = `${formatBytes(size)} · ${when}`;
  li.append(link, meta);
  if (sha256) {
    li.dataset.sha256 = sha256;
    const sum = document.createElement("div");
    sum.className = "meta sum";
    sum.textContent = `SHA-256 ${sha256}`;
    li.append(sum);
  }
  ui.files[where](li);
  ui.empty.hidden = true;
}

async function listFiles() {
  const r = await fetch("files", { cache: "no-store" });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  const files = await r.json();
  // An upload may have finished while the list was on its way.
  const shown = new Set(Array.from(ui.files.children, (li) => li.dataset.name));
  for (const f of files) {
    if (!shown.has(f.name)) showFile(f, "append");
  }
}

async function upload(file) {
  if (maxSize !== null && file.size > maxSize) {
    throw new Error(`${file.name} is ${formatBytes(file.size)}; the server takes at most ${formatBytes(maxSize)}.`);
  }
  setProgress(0, 1);
  setStatus("Connecting…");
  const done = await transfer(file);
  setProgress(1, 1);
  const renamed = done.name !== file.name ? ` (saved as ${done.name}, as that name was taken)` : "";
  setStatus(`Uploaded ${file.name}${renamed}.`, "ok");
  // The file is stored: clear the choice, so that pressing Upload again
  // does not store a copy.
  ui.form.reset();
  showFile({ ...done, modified: new Date().toISOString() });
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

listFiles().catch((err) => {
  ui.empty.textContent = `The list of files could not be loaded: ${err.message}.`;
});
