// The chat page. It keeps one WebSocket to the server, reconnecting with
// capped exponential backoff when it drops, and renders the room.
//
// Everything people typed reaches the page through textContent, never as
// markup, so a message like <img src=x onerror=alert(1)> shows as text.
"use strict";

const MAX_NAME = 32;
const MAX_TEXT = 1000;
// A page that rejoins by itself (after a reconnect or a reload) can find
// its name still held by its own previous connection, which the server
// has not seen close yet. It tries again a few times before asking.
const REJOIN_TRIES = 3;
const REJOIN_DELAY_MS = 1000;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  statusText: $("status-text"),
  retry: $("retry"),
  joinCard: $("join"),
  joinForm: $("join-form"),
  name: $("name"),
  joinError: $("join-error"),
  room: $("room"),
  log: $("log"),
  sendForm: $("send-form"),
  text: $("text"),
  sendError: $("send-error"),
};

const state = {
  ws: null,
  // The name to join as, once the person has chosen one; kept for the
  // session so a reconnect joins again by itself.
  name: sessionStorage.getItem("chat.name") || "",
  joined: false,
  epoch: null, // the server run whose events are shown
  seen: new Set(), // seq numbers shown, within that epoch
  early: [], // events that arrived before the history did
  // follow: whether the log keeps its newest event in view. A person who
  // scrolls up to read stops it; scrolling back to the bottom resumes it.
  follow: true,
  rejoinTries: 0, // automatic joins refused so far; -1 when the person joined
};

// The waits between reconnects (common/reconnect.js).
const backoff = new Backoff(connect);

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.statusText.textContent = text;
  ui.retry.hidden = kind !== "offline";
}

function connect() {
  backoff.cancel();
  setStatus("connecting", "Connecting…");
  const ws = new WebSocket(socketURL());
  state.ws = ws;
  ws.onopen = () => {
    backoff.reset();
    setStatus("online", "Online");
    if (state.name) {
      state.rejoinTries = 0;
      send({ type: "join", name: state.name });
    }
  };
  ws.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return; // not ours to show
    }
    receive(msg);
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.joined = false;
    const why = ev.code === 1001 ? "Server went away" : "Offline";
    backoff.wait((secs) => setStatus("offline", `${why} — retrying in ${secs} s`));
  };
}

function send(msg) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(msg));
  return true;
}

function receive(msg) {
  switch (msg.type) {
    case "history":
      showHistory(msg);
      break;
    case "join":
    case "leave":
    case "message":
      if (state.joined) render(msg);
      else state.early.push(msg);
      break;
    case "error":
      showError(msg);
      break;
  }
}

function showHistory(msg) {
  if (state.epoch !== msg.epoch) {
    // A new run of the server: what is on screen belongs to the old one.
    const restarted = state.epoch !== null;
    ui.log.replaceChildren();
    state.seen.clear();
    state.epoch = msg.epoch;
    if (restarted) notice("The server restarted. Showing its recent messages.");
  }
  state.name = msg.you;
  sessionStorage.setItem("chat.name", msg.you);
  state.joined = true;
  // Show the room before drawing into it: a hidden log has no height, so
  // nothing drawn into it could be scrolled into view.
  ui.joinError.textContent = "";
  ui.joinCard.hidden = true;
  if (ui.room.hidden) {
    ui.room.hidden = false;
    state.follow = true; // a page that opens on the room opens on its newest event
  }
  for (const ev of msg.events || []) render(ev);
  for (const ev of state.early) render(ev);
  state.early = [];
  ui.text.focus();
}

function showError(msg) {
  if (msg.code === "name_taken" && state.rejoinTries >= 0 && state.rejoinTries < REJOIN_TRIES) {
    state.rejoinTries++;
    const ws = state.ws;
    setTimeout(() => {
      if (state.ws === ws && !state.joined) send({ type: "join", name: state.name });
    }, REJOIN_DELAY_MS);
    return;
  }
  if (msg.code === "name_taken" || msg.code === "invalid_name") {
    // Also reached when a reconnect finds the name taken: back to the
    // form, so the person can choose.
    state.name = "";
    sessionStorage.removeItem("chat.name");
    ui.room.hidden = true;
    ui.joinCard.hidden = false;
    ui.joinError.textContent = msg.error;
    ui.name.focus();
  } else if (typeof msg.text === "string") {
    // A message of ours was refused (too fast, or not valid): the server
    // gives its text back, so it goes back into the box rather than being
    // lost, unless the person has started another.
    if (ui.text.value === "" || ui.text.value === msg.text) {
      ui.text.value = msg.text;
      ui.sendError.textContent = `${msg.error} Your message is back in the box.`;
    } else {
      ui.sendError.textContent = `${msg.error} Not sent: “${msg.text}”`;
    }
  } else {
    ui.sendError.textContent = msg.error;
  }
}

// render shows one event, in seq order: events can arrive out of order
// around a join, and again after a reconnect to the same server.
function render(ev) {
  if (state.seen.has(ev.seq)) return;
  state.seen.add(ev.seq);

  const li = document.createElement("li");
  li.dataset.seq = String(ev.seq);
  li.dataset.type = ev.type;
  const when = document.createElement("time");
  when.dateTime = ev.time;
  when.textContent = new Date(ev.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  if (ev.type === "message") {
    if (ev.name === state.name) li.classList.add("mine");
    const meta = document.createElement("div");
    meta.className = "meta";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = ev.name;
    meta.append(who, when);
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = ev.text;
    li.append(meta, text);
  } else {
    li.className = "notice";
    const what = document.createElement("span");
    what.textContent = `${ev.name} ${ev.type === "join" ? "joined" : "left"} `;
    li.append(what, when);
  }
  insertInOrder(li, ev.seq);
}

function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.dataset.seq = "0";
  li.textContent = text;
  insertInOrder(li, 0);
}

function insertInOrder(li, seq) {
  const log = ui.log;
  let after = log.lastElementChild;
  while (after && Number(after.dataset.seq) > seq) after = after.previousElementSibling;
  if (after) after.after(li);
  else log.prepend(li);
  if (state.follow) scrollToEnd();
}

function scrollToEnd() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

// Whether to follow is decided by where the person leaves the log, not at
// each insertion: an insertion that grows the log by more than a line would
// otherwise look like the person had scrolled away from the bottom.
ui.log.addEventListener("scroll", () => {
  const log = ui.log;
  state.follow = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
}, { passive: true });

// countChars counts what the server counts: Unicode code points, not the
// UTF-16 units of String.length (or of an input's maxlength, which would
// hold a name of emoji to half its length).
const countChars = (s) => [...s].length;

// limitChars keeps what is typed or pasted into input to max code points,
// and calls onCut when it had to cut.
function limitChars(input, max, onCut) {
  input.addEventListener("input", () => {
    const chars = [...input.value];
    if (chars.length > max) {
      input.value = chars.slice(0, max).join("");
      onCut();
    }
  });
}

limitChars(ui.name, MAX_NAME, () => {
  ui.joinError.textContent = `Names are at most ${MAX_NAME} characters.`;
});
limitChars(ui.text, MAX_TEXT, () => {
  ui.sendError.textContent = `Messages are at most ${MAX_TEXT} characters.`;
});

ui.joinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const name = ui.name.value.trim();
  if (!name) {
    ui.joinError.textContent = "Please choose a name.";
    return;
  }
  if (countChars(name) > MAX_NAME) {
    ui.joinError.textContent = `Names are at most ${MAX_NAME} characters.`;
    return;
  }
  state.name = name;
  state.rejoinTries = -1; // a person chose this name: tell them at once if it is taken
  if (!send({ type: "join", name })) {
    ui.joinError.textContent = "Not connected yet; you will join as soon as the server answers.";
  }
});

ui.sendForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.text.value;
  if (!text.trim()) return;
  if (countChars(text) > MAX_TEXT) {
    ui.sendError.textContent = `Messages are at most ${MAX_TEXT} characters.`;
    return;
  }
  if (!state.joined || !send({ type: "message", text })) {
    ui.sendError.textContent = "Not connected: your message was not sent.";
    return;
  }
  ui.sendError.textContent = "";
  ui.text.value = "";
});

ui.retry.addEventListener("click", () => backoff.now());

// When the network comes back, waiting out the backoff helps no one.
window.addEventListener("online", () => {
  if (!state.ws) connect();
});

ui.name.value = state.name;
connect();
