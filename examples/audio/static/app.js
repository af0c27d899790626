// The audio room's page. It keeps one WebSocket to the room named in the
// URL (?room=NAME, "lobby" by default), reconnecting with capped
// exponential backoff when it drops. The protocol is described at the top
// of protocol.go.
//
// Talking: MediaRecorder records the microphone as WebM/Opus and hands
// over a chunk every CHUNK_MS; each chunk goes out as one binary message
// while the recording goes on. The server relays the talk to everyone in
// the room, this page included.
//
// Listening: each talk gets an <audio> element fed by a MediaSource as
// the audio arrives, so listeners hear it live. The speaker's own page
// does not play its talk while it lasts (its loudspeaker would feed the
// microphone); once the talk ends, the speaker can play it back, as the
// room heard it. A browser without MediaSource for WebM/Opus gets each
// talk as a whole once it ends.
"use strict";

const MIME = "audio/webm;codecs=opus";
const MSE_MIME = 'audio/webm; codecs="opus"';
const CHUNK_MS = 250; // MediaRecorder's timeslice
const BITRATE = 64000; // bits a second
const KEEP_TALKS = 5; // talks kept on the page, players and all

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  statusText: $("status-text"),
  here: $("here"),
  retry: $("retry"),
  roomName: $("room-name"),
  talk: $("talk"),
  meter: $("meter"),
  talkError: $("talk-error"),
  talks: $("talks"),
  noTalks: $("no-talks"),
  roomInput: $("room-input"),
};

const room = new URLSearchParams(location.search).get("room") || "lobby";
const canRecord = typeof MediaRecorder !== "undefined" && MediaRecorder.isTypeSupported(MIME) &&
  !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
const canStream = typeof MediaSource !== "undefined" && MediaSource.isTypeSupported(MSE_MIME);

const state = {
  ws: null,
  online: false,
  maxChunk: 0,
  // The talk this page is giving: "asking" once it sent start, then
  // "talking" once the server gave it the floor, with its recorder.
  mine: null,
  talks: new Map(), // stream id → talk entry, for the talks on the page
};

// The waits between reconnects (common/reconnect.js).
const backoff = new Backoff(connect);

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.statusText.textContent = text;
  ui.retry.hidden = kind !== "offline";
  if (kind !== "online") ui.here.textContent = "";
}

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?room=${encodeURIComponent(room)}`;
}

function connect() {
  backoff.cancel();
  setStatus("connecting", "Connecting…");
  const ws = new WebSocket(socketURL());
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") control(JSON.parse(ev.data));
    else audio(ev.data);
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.online = false;
    stopRecording();
    for (const t of state.talks.values()) finish(t, null);
    updateTalkButton();
    if (ev.code === 1008) {
      // The server closed for a protocol violation, after saying why.
      setStatus("offline", "Disconnected");
      return;
    }
    backoff.wait((s) => setStatus("offline", `Offline. Reconnecting in ${s} s`));
  };
}

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(obj));
}

ui.retry.addEventListener("click", () => backoff.now());

function control(msg) {
  switch (msg.type) {
    case "hello":
      state.online = true;
      backoff.reset();
      state.maxChunk = msg.maxChunk;
      setStatus("online", "Online");
      updateTalkButton();
      break;
    case "presence":
      ui.here.textContent = msg.here === 1 ? "· you alone" : `· ${msg.here} here`;
      break;
    case "talk":
      startRecording(msg.stream);
      break;
    case "start":
      begin(msg.stream);
      break;
    case "stop":
      end(msg.stream, msg.bytes);
      break;
    case "error":
      refused(msg);
      break;
  }
}

// --- talking -------------------------------------------------------------

ui.talk.addEventListener("click", () => {
  ui.talkError.textContent = "";
  delete ui.talkError.dataset.code;
  if (state.mine) {
    stopRecording();
    return;
  }
  state.mine = { phase: "asking", stream: null, recorder: null, media: null, sent: 0 };
  updateTalkButton();
  // The microphone first: the floor is taken only by someone who can talk.
  navigator.mediaDevices.getUserMedia({ audio: true }).then((media) => {
    if (!state.mine || state.mine.phase !== "asking") {
      media.getTracks().forEach((tr) => tr.stop());
      return;
    }
    state.mine.media = media;
    send({ type: "start", mime: MIME });
  }, (err) => {
    state.mine = null;
    updateTalkButton();
    ui.talkError.textContent = `The microphone is not available: ${err.message}`;
  });
});

function startRecording(stream) {
  const mine = state.mine;
  if (!mine || !mine.media) {
    send({ type: "stop" }); // a floor no one asked for on this page
    return;
  }
  mine.phase = "talking";
  mine.stream = stream;
  const recorder = new MediaRecorder(mine.media, { mimeType: MIME, audioBitsPerSecond: BITRATE });
  mine.recorder = recorder;
  // The talk belongs to this connection: after a reconnect, its last
  // chunks and its stop would mean nothing to the server, and are dropped.
  const ws = state.ws;
  const open = () => state.ws === ws && ws.readyState === WebSocket.OPEN;
  // WebSocket.send keeps order, Blobs included, so each chunk goes out as
  // it comes, and the stop after the last one.
  recorder.ondataavailable = (ev) => {
    if (ev.data.size === 0 || !open()) return;
    if (ev.data.size > state.maxChunk) {
      ui.talkError.textContent = "The recorder handed over a chunk larger than the server takes.";
      stopRecording();
      return;
    }
    ws.send(ev.data);
    mine.sent += ev.data.size;
    ui.meter.textContent = `${formatBytes(mine.sent)} sent`;
    ui.talk.dataset.sent = String(mine.sent);
  };
  recorder.onstop = () => {
    mine.media.getTracks().forEach((tr) => tr.stop());
    if (open()) ws.send(JSON.stringify({ type: "stop" }));
    const t = state.talks.get(stream);
    if (t) {
      t.sent = mine.sent;
      t.li.dataset.sent = String(mine.sent);
    }
    if (state.mine === mine) state.mine = null;
    updateTalkButton();
  };
  recorder.start(CHUNK_MS);
  ui.talk.dataset.sent = "0";
  ui.meter.textContent = "Recording…";
  updateTalkButton();
}

function stopRecording() {
  const mine = state.mine;
  if (!mine) return;
  if (mine.recorder && mine.recorder.state !== "inactive") {
    mine.phase = "stopping";
    mine.recorder.stop(); // onstop sends the last chunk, then stop
  } else {
    if (mine.media) mine.media.getTracks().forEach((tr) => tr.stop());
    state.mine = null;
  }
  updateTalkButton();
}

function refused(msg) {
  ui.talkError.textContent = msg.error;
  ui.talkError.dataset.code = msg.code;
  if (state.mine && state.mine.phase === "asking") {
    if (state.mine.media) state.mine.media.getTracks().forEach((tr) => tr.stop());
    state.mine = null;
  } else if (msg.code === "talk_limit") {
    stopRecording();
  }
  updateTalkButton();
}

function updateTalkButton() {
  const mine = state.mine;
  ui.talk.textContent = mine && mine.phase !== "asking" ? "Stop" : "Talk";
  ui.talk.setAttribute("aria-pressed", String(!!mine && mine.phase === "talking"));
  ui.talk.disabled = !canRecord || !state.online || (!!mine && mine.phase !== "talking");
  if (!canRecord) ui.talkError.textContent = `This browser cannot record ${MIME}; you can still listen.`;
  if (!mine) ui.meter.textContent = "";
}

// --- listening -----------------------------------------------------------

// begin adds an entry for a talk that is starting, or under way when this
// page arrived.
function begin(stream) {
  const old = state.talks.get(stream);
  if (old) finish(old, null); // heard in part before a reconnect
  const li = document.createElement("li");
  li.dataset.stream = String(stream);
  li.dataset.state = "live";
  const label = document.createElement("p");
  label.className = "talk-label";
  const player = document.createElement("audio");
  player.controls = true;
  player.preload = "auto";
  li.append(label, player);
  ui.talks.prepend(li);
  ui.noTalks.hidden = true;

  const mine = !!state.mine && state.mine.phase !== "asking";
  const t = {
    stream, li, label, player, mine,
    received: 0, sent: null, // bytes; sent for this page's own talk
    source: null, buffer: null, queue: [], // MediaSource, when streaming
    parts: canStream ? null : [], // the talk's messages, when not
    ending: false,
  };
  state.talks.set(stream, t);
  if (canStream) {
    t.source = new MediaSource();
    player.src = URL.createObjectURL(t.source);
    t.source.addEventListener("sourceopen", () => {
      URL.revokeObjectURL(player.src);
      t.buffer = t.source.addSourceBuffer(MSE_MIME);
      // In sequence mode the first frame plays at 0, wherever in the talk
      // it comes from: a late listener's stream begins at a cluster whose
      // timestamps run on from the start of the talk.
      t.buffer.mode = "sequence";
      t.buffer.addEventListener("updateend", () => pump(t));
      pump(t);
    }, { once: true });
    if (!mine) player.play().catch(() => {}); // autoplay may be refused: the controls remain
  }
  label.textContent = mine ? `Your talk #${stream}: recording` : `Talk #${stream}: live`;
  while (ui.talks.children.length > KEEP_TALKS) drop(ui.talks.lastElementChild);
}

function audio(data) {
  // Audio belongs to the one talk under way in the room: the newest entry.
  const t = [...state.talks.values()].find((x) => x.li.dataset.state === "live");
  if (!t) return;
  t.received += data.byteLength;
  t.li.dataset.received = String(t.received);
  if (t.parts) t.parts.push(data);
  else {
    t.queue.push(data);
    pump(t);
  }
}

// pump feeds queued audio to the SourceBuffer, one append at a time, and
// ends the stream once the talk is over and everything is in.
function pump(t) {
  if (!t.buffer || t.buffer.updating || t.source.readyState !== "open") return;
  if (t.queue.length > 0) {
    try {
      t.buffer.appendBuffer(t.queue.shift());
    } catch (err) {
      t.queue.length = 0;
      t.label.textContent += ` (the player refused it: ${err.name})`;
    }
    return;
  }
  if (t.ending) {
    t.source.endOfStream(); // the duration becomes finite: what was buffered
  }
}

// end closes the talk that the server says is over, bytes long.
function end(stream, bytes) {
  const t = state.talks.get(stream);
  if (t) finish(t, bytes);
  // The floor is free: "someone else is talking" no longer holds.
  if (ui.talkError.dataset.code === "busy") ui.talkError.textContent = "";
}

function finish(t, bytes) {
  if (t.li.dataset.state !== "live") return;
  t.li.dataset.state = bytes === null ? "cut" : "ended";
  if (bytes !== null) t.li.dataset.bytes = String(bytes);
  if (state.mine && state.mine.stream === t.stream) t.sent = state.mine.sent;
  const whole = bytes !== null && t.received === bytes;
  const heard = formatBytes(t.received);
  if (bytes === null) t.label.textContent = `Talk #${t.stream}: cut off, ${heard} heard`;
  else if (t.mine) t.label.textContent = `Your talk #${t.stream}: ${heard} came back${whole ? ", all of it" : ""}`;
  else t.label.textContent = `Talk #${t.stream}: ${whole ? heard : `${heard} of ${formatBytes(bytes)}, joined late`}`;
  t.ending = true;
  if (t.parts) {
    // Without MediaSource, the talk plays once it is whole. A recording
    // from MediaRecorder declares no duration, so the player says
    // Infinity until it has seen the end: a seek far past it makes it
    // look, and the player then shows the length.
    const player = t.player;
    player.addEventListener("loadedmetadata", () => {
      if (Number.isFinite(player.duration)) return;
      player.addEventListener("durationchange", () => { player.currentTime = 0; }, { once: true });
      player.currentTime = 1e9;
    }, { once: true });
    player.src = URL.createObjectURL(new Blob(t.parts, { type: MIME }));
    t.parts = null;
  } else {
    pump(t);
  }
}

function drop(li) {
  const t = state.talks.get(Number(li.dataset.stream));
  if (t) {
    finish(t, null);
    if (t.player.src.startsWith("blob:")) URL.revokeObjectURL(t.player.src);
    t.player.removeAttribute("src");
    t.player.load(); // lets the browser free the talk's buffers
    state.talks.delete(t.stream);
  }
  li.remove();
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

ui.roomName.textContent = room;
ui.roomInput.value = room;
document.title = `Audio room: ${room}`;
updateTalkButton();
// The server checks the name too, with an HTTP 400 that a page cannot
// read; checking here says what is wrong instead of retrying forever.
if (/^[a-z0-9][a-z0-9-]{0,31}$/.test(room)) connect();
else {
  setStatus("offline", "No such room: pick another name below");
  ui.retry.hidden = true;
}
