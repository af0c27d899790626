"""Python's websockets package (Debian's python3-websockets) as a server,
for the library's client (websocket.Dial) to talk to. Started by
client_test.go; by hand:

    /usr/bin/python3 peer_server.py

It does what peer_server.mjs does, as far as websockets allows: it listens
on free loopback ports, one per configuration, prints one JSON line naming
them, picks what to do with a connection by its URL's path, and prints an
event line for what it saw, named by the query's id. The differences: text
is sent in fragments of whole characters only (websockets encodes each str
fragment by itself), and the ping inside a fragmented message is sent by
the generator that yields the fragments.

SIGTERM or SIGINT closes the servers; the process then exits 0.
"""

import asyncio
import json
import signal
import sys
import urllib.parse

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

# The permessage-deflate setups. "deflate" is websockets' default
# (compression="deflate": server_max_window_bits=12, memLevel 5); it
# compresses every message.
CONFIGS = {
    "plain": dict(compression=None),
    "deflate": dict(compression="deflate"),
    "deflate-no-takeover": dict(
        compression=None,
        extensions=[ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True)],
    ),
}


def emit(**obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def pattern(n, seed):
    """n bytes that both sides can compute (see pattern in client_test.go):
    byte i is (i*7 + seed) % 251, which repeats every 251 bytes."""
    period = bytes((i * 7 + seed) % 251 for i in range(251))
    return (period * (n // 251 + 1))[:n]


async def echo(ws, id):
    async for msg in ws:
        await ws.send(msg)


async def fragments(ws, id):
    await ws.send(iter(["a", "𝄞", "b"]))

    async def binary():
        yield pattern(100_000, 1)
        yield pattern(100_000, 2)
        # The client must answer this in the middle of the message.
        waiter = await ws.ping(f"mid-message {id}".encode())
        waiter.add_done_callback(lambda f: f.cancelled() or emit(id=id, event="pong", data=f"mid-message {id}"))
        yield pattern(100_000, 3)

    await ws.send(binary())
    await ws.send(iter([b"", b""]))
    await ws.send(iter([pattern(1 << 20, 10 + i) for i in range(16)]))
    await ws.send("end")
    await ws.wait_closed()


async def ping(ws, id):
    for payload in (b"p" * 125, b""):
        waiter = await ws.ping(payload)
        await waiter
        emit(id=id, event="pong", data=payload.decode())
    await ws.send("pongs received")
    await ws.wait_closed()


async def close(ws, id):
    await ws.send("closing")
    await ws.close(4001, "custom reason ✓")


async def wait_close(ws, id):
    await ws.wait_closed()


async def in_order(ws, id):
    for i in range(10_000):
        await ws.send(f"message {i}")
    await ws.wait_closed()


BEHAVIOURS = {
    "/echo": echo,
    "/fragments": fragments,
    "/ping": ping,
    "/close": close,
    "/wait-close": wait_close,
    "/in-order": in_order,
}


async def handler(ws):
    url = urllib.parse.urlsplit(ws.path)
    id = urllib.parse.parse_qs(url.query).get("id", [""])[0]
    emit(
        id=id,
        event="open",
        path=url.path,
        extensions=ws.response_headers.get("Sec-WebSocket-Extensions", ""),
        protocol=ws.subprotocol or "",
    )
    behave = BEHAVIOURS.get(url.path)
    try:
        if behave is None:
            emit(id=id, event="error", message=f"no behaviour for {url.path}")
            await ws.close(4404, "unknown path")
        else:
            await behave(ws, id)
    except websockets.ConnectionClosed:
        pass
    except Exception as e:  # report it: the test fails on an error event
        emit(id=id, event="error", message=f"{type(e).__name__}: {e}")
        raise
    finally:
        await ws.wait_closed()
        # close_code and close_reason are what the client sent (1006 if
        # it sent no Close frame).
        emit(id=id, event="close", code=ws.close_code, reason=ws.close_reason)


async def main():
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    servers = {}
    for name, config in CONFIGS.items():
        servers[name] = await websockets.serve(
            handler,
            "127.0.0.1",
            0,
            subprotocols=["chat"],
            max_size=64 << 20,
            ping_interval=None,  # the test's pings only
            **config,
        )
    addrs = {}
    for name, server in servers.items():
        host, port = list(server.sockets)[0].getsockname()[:2]
        addrs[name] = f"{host}:{port}"
    emit(listening=addrs, version=websockets.__version__)
    await stop
    for server in servers.values():
        server.close()
    for server in servers.values():
        await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
