"""Server memory per connection with permessage-deflate and context
takeover, measured from outside with real clients: Python's websockets
(Debian's python3-websockets), which offers permessage-deflate with
client_max_window_bits and keeps its context both ways, as browsers do.

    go build -o /tmp/echo ./examples/echo
    /tmp/echo -q -addr 127.0.0.1:9001 &          # or -window-bits 10 -mem-level 1, -deflate=false
    /usr/bin/python3 benchmarks/deflate_rss.py -pid $! -conns 2000

It opens -warm connections, echoes -messages event messages from
testdata/events.jsonl on each, and closes them (so that one-time costs:
pools, first stacks, lazily built tables are not charged to the measured
connections); waits -settle seconds and reads the server's VmRSS; opens
-conns connections, -dialers at a time, each echoing -messages events (more
than the 8 KiB default window, so the histories are full); waits -settle
seconds and reads VmRSS again. It prints the negotiated extension and
(after - before) / conns. Raise the open-file limit (ulimit -n) of both
processes above -conns.
"""

import argparse
import asyncio
import os
import sys
import time

import websockets


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def load_events():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "testdata", "events.jsonl")) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


async def open_conn(url, events, count, offset):
    ws = await websockets.connect(url, compression="deflate", ping_interval=None, max_size=None, open_timeout=60)
    for i in range(count):
        msg = events[(offset + i) % len(events)]
        await ws.send(msg)
        echo = await ws.recv()
        if echo != msg:
            raise RuntimeError("echo differs from what was sent")
    return ws


async def open_many(url, events, n, count, dialers):
    conns = []
    sem = asyncio.Semaphore(dialers)

    async def one(i):
        async with sem:
            conns.append(await open_conn(url, events, count, i * 7))

    await asyncio.gather(*(one(i) for i in range(n)))
    return conns


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-url", default="ws://127.0.0.1:9001/")
    ap.add_argument("-pid", type=int, required=True, help="the server's process id")
    ap.add_argument("-conns", type=int, default=2000)
    ap.add_argument("-warm", type=int, default=64)
    ap.add_argument("-messages", type=int, default=60)
    ap.add_argument("-dialers", type=int, default=32)
    ap.add_argument("-settle", type=float, default=3)
    args = ap.parse_args()
    events = load_events()

    warm = await open_many(args.url, events, args.warm, args.messages, args.dialers)
    ext = warm[0].response_headers.get("Sec-WebSocket-Extensions", "(none)")
    await asyncio.gather(*(ws.close() for ws in warm))
    await asyncio.sleep(args.settle)
    before = rss(args.pid)

    start = time.monotonic()
    conns = await open_many(args.url, events, args.conns, args.messages, args.dialers)
    opened = time.monotonic() - start
    await asyncio.sleep(args.settle)
    after = rss(args.pid)

    print(f"extension: {ext}")
    print(f"connections: {len(conns)}, {args.messages} echoes each, opened in {opened:.1f} s")
    print(f"server VmRSS: before {before / 1024:.0f} KiB, after {after / 1024:.0f} KiB")
    print(f"server RSS per connection: {(after - before) / len(conns) / 1024:.1f} KiB")
    sys.stdout.flush()
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
