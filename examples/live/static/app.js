// The live poll page. It keeps one WebSocket to the server, reconnecting
// with capped exponential backoff when it drops, sends a vote per click,
// and draws the tallies and notices the server sends.
//
// Text from the server (option names, notices, errors) reaches the page
// through textContent only, never as markup: a notice such as
// <img src=x onerror=alert(1)> shows as text.
"use strict";

// The notices list keeps the newest ones only: a page left open all day
// should not grow without bound.
const MAX_NOTICES = 50;
// Bar colours: an option named after a common colour gets a softened
// shade of it (CSS's pure "red" and "green" glare); any other option one
// of the palette, in order.
const COLOURS = new Map(Object.entries({
  red: "#d1242f", green: "#1a7f37", blue: "#2456c7", yellow: "#d4a72c", orange: "#e16f24",
  purple: "#8250df", pink: "#d6409f", brown: "#8a5a2b", grey: "#6e7781", gray: "#6e7781", black: "#24292f",
}));
const PALETTE = ["#2456c7", "#1a7f37", "#d1242f", "#d4a72c", "#8250df", "#0e7490", "#d6409f", "#6e7781"];

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  statusText: $("status-text"),
  retry: $("retry"),
  loading: $("loading"),
  options: $("options"),
  total: $("total"),
  totalCount: $("total-count"),
  totalWord: $("total-word"),
  error: $("error"),
  notices: $("notices"),
  noNotices: $("no-notices"),
};

const state = {
  ws: null,
  online: false,
  options: [], // the options the rows were built for, in order
  rows: new Map(), // option → its row's elements
};

// The waits between reconnects (common/reconnect.js).
const backoff = new Backoff(connect);

function socketURL() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  // The tally on screen is stale while offline: the stylesheet dims it.
  document.body.dataset.connection = kind;
  ui.statusText.textContent = text;
  ui.retry.hidden = kind !== "offline";
  // A vote can only be sent while connected: say so before a click, not
  // after.
  state.online = kind === "online";
  for (const row of state.rows.values()) row.button.disabled = !state.online;
}

function connect() {
  backoff.cancel();
  setStatus("connecting", "Connecting…");
  const ws = new WebSocket(socketURL());
  state.ws = ws;
  ws.onopen = () => {
    backoff.reset();
    setStatus("online", "Live");
    ui.error.textContent = "";
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
    let why = "Offline";
    if (ev.code === 1001) why = "Server went away";
    else if (ev.code === 1013) why = "Connection too slow";
    backoff.wait((secs) => setStatus("offline", `${why} — retrying in ${secs} s`));
  };
}

function send(msg) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(msg));
  return true;
}

function receive(msg) {
  if (msg.tally && typeof msg.tally === "object" && Array.isArray(msg.options)) {
    showTally(msg);
  } else if (typeof msg.notice === "string") {
    showNotice(msg.notice);
  } else if (typeof msg.error === "string") {
    ui.error.textContent = msg.error;
  }
}

// showTally draws a tally. The rows are built again only when the options
// change, which happens when the page reconnects to a server started with
// other options.
function showTally(msg) {
  if (!sameList(state.options, msg.options)) buildRows(msg.options);
  const total = Number(msg.votes) || 0;
  ui.total.dataset.votes = String(total);
  ui.totalCount.textContent = total.toLocaleString();
  ui.totalWord.textContent = total === 1 ? "vote" : "votes";
  for (const [name, row] of state.rows) {
    const n = Number(msg.tally[name]) || 0;
    const share = total > 0 ? (n * 100) / total : 0;
    row.li.dataset.count = String(n);
    row.li.dataset.percent = String(Math.round(share));
    row.count.textContent = n.toLocaleString();
    row.percent.textContent = `(${Math.round(share)}%)`;
    row.fill.style.width = `${share}%`;
  }
}

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function buildRows(options) {
  state.options = options.slice();
  state.rows.clear();
  ui.options.replaceChildren();
  options.forEach((name, i) => {
    const li = document.createElement("li");
    li.className = "option";
    li.dataset.option = name;

    const button = document.createElement("button");
    button.type = "button";
    button.className = "vote";
    button.disabled = !state.online;
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = "Vote for ";
    button.append(hidden, document.createTextNode(name));
    button.addEventListener("click", () => vote(name, button));

    const count = document.createElement("span");
    count.className = "count";
    const n = document.createElement("span");
    n.className = "n";
    const percent = document.createElement("span");
    percent.className = "pct";
    count.append(n, " ", percent);

    const track = document.createElement("div");
    track.className = "track";
    track.setAttribute("aria-hidden", "true");
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.backgroundColor = colour(name, i);
    track.append(fill);

    li.append(button, count, track);
    ui.options.append(li);
    state.rows.set(name, { li, button, count: n, percent, fill });
  });
  ui.loading.hidden = true;
}

// colour returns the bar colour of the option name at index i. (A Map, not
// an object: an option named "constructor" must not find a method.)
function colour(name, i) {
  return COLOURS.get(name.toLowerCase()) || PALETTE[i % PALETTE.length];
}

function vote(name, button) {
  if (!send({ vote: name })) {
    ui.error.textContent = "Not connected: your vote was not sent.";
    return;
  }
  ui.error.textContent = "";
  // Acknowledge the click at once; the bars move when the tally comes.
  button.classList.remove("pressed");
  void button.offsetWidth; // restart the animation
  button.classList.add("pressed");
}

function showNotice(text) {
  const li = document.createElement("li");
  const when = document.createElement("time");
  const now = new Date();
  when.dateTime = now.toISOString();
  when.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const p = document.createElement("p");
  p.className = "text";
  p.textContent = text;
  li.append(when, p);
  ui.notices.prepend(li); // newest first
  while (ui.notices.children.length > MAX_NOTICES) ui.notices.lastElementChild.remove();
  ui.noNotices.hidden = true;
}

ui.retry.addEventListener("click", () => backoff.now());

// When the network comes back, waiting out the backoff helps no one.
window.addEventListener("online", () => {
  if (!state.ws) connect();
});

connect();
