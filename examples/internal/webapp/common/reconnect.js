// How the examples' pages wait before they reconnect a WebSocket that
// dropped. A page links this before its app.js; the WebSocket itself, its
// handlers and what the page says while it waits stay in app.js.
"use strict";

// A Backoff calls connect again after a connection drops. The delays grow
// from baseMs, doubling per failed attempt, up to capMs; each is then
// picked at random from its upper half, so a restarted server is not hit
// by every page in the same instant.
class Backoff {
  constructor(connect, { baseMs = 500, capMs = 30000 } = {}) {
    this.connect = connect;
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.attempt = 0; // failed attempts since the last success
    this.retryTimer = 0;
    this.countdownTimer = 0;
  }

  // cancel stops a wait under way: connect calls it before it dials.
  cancel() {
    clearTimeout(this.retryTimer);
    clearInterval(this.countdownTimer);
  }

  // reset says the connection works: the next wait starts short again.
  reset() {
    this.attempt = 0;
  }

  // wait calls connect after the next delay, and tick with the whole
  // seconds left (rounded up) now and four times a second until then.
  wait(tick) {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt++;
    const due = Date.now() + delay;
    const update = () => tick(Math.max(0, Math.ceil((due - Date.now()) / 1000)));
    update();
    this.countdownTimer = setInterval(update, 250);
    this.retryTimer = setTimeout(this.connect, delay);
  }

  // now connects at once, as a "Retry now" button asks, and starts the
  // delays afresh.
  now() {
    this.attempt = 0;
    this.connect();
  }
}
