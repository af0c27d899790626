"""Python's websockets package (Debian's python3-websockets) against
examples/echo. Run by interop_test.go, or by hand:

    /usr/bin/python3 echo_client.py ws://127.0.0.1:9001

Prints one line per case and a closing "N passed, N failed" line; exits
non-zero when a case failed.
"""

import asyncio
import os
import sys

import websockets

TIMEOUT = 60  # seconds, per case


def connect(url):
    # compression=None: no permessage-deflate, which the server does not
    # offer yet; max_size: room for the 16 MiB case.
    return websockets.connect(url, compression=None, max_size=64 << 20, open_timeout=15, close_timeout=15)


async def round_trip(url, payload):
    async with connect(url) as ws:
        await ws.send(payload)
        got = await ws.recv()
    assert type(got) is type(payload), f"sent {type(payload).__name__}, got {type(got).__name__} back"
    assert got == payload, f"payload differs ({len(got)} bytes back for {len(payload)})"


async def in_order(url):
    n = 10_000
    async with connect(url) as ws:
        async def send_all():
            for i in range(n):
                await ws.send(f"message {i}")

        sender = asyncio.create_task(send_all())
        for i in range(n):
            got = await ws.recv()
            assert got == f"message {i}", f"message {i} came back as {got!r}"
        await sender


async def ping(url):
    async with connect(url) as ws:
        # The waiter resolves only on a pong carrying this same payload.
        waiter = await ws.ping(b"are you there?")
        await asyncio.wait_for(waiter, TIMEOUT)


async def close_normal(url):
    ws = await connect(url)
    await ws.close(code=1000, reason="done")
    assert ws.close_code == 1000, f"server answered close with {ws.close_code}"


def cases(url):
    yield "ASCII text", round_trip(url, "hello, echo")
    yield "4-byte UTF-8 text", round_trip(url, "𝄞 G clef, 😀, and ünïcödé")
    for size in (0, 125, 126, 65535, 65536, 16 << 20):
        yield f"binary of {size} bytes", round_trip(url, os.urandom(size))
    yield "10,000 messages come back in order", in_order(url)
    yield "ping is answered with the same payload", ping(url)
    yield "close 1000 is answered with 1000", close_normal(url)


async def main(url):
    passed = failed = 0
    for name, case in cases(url):
        try:
            await asyncio.wait_for(case, TIMEOUT)
        except Exception as e:  # report every case, whatever went wrong
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)
    print(f"websockets {websockets.__version__}")
    print(f"python: {passed} passed, {failed} failed")
    return failed == 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_client.py ws://host:port")
    sys.exit(0 if asyncio.run(main(sys.argv[1])) else 1)
