"""End-of-DATA to 250 latency at a fixed offered rate (asyncio, pipelined
MAIL/RCPT/DATA, `connections` connections each pacing its share)."""

import asyncio
import statistics
import time


async def _reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def _connection(host, port, rate, until, body, recipient, samples, offset):
    reader, writer = await asyncio.open_connection(host, port)
    await _reply(reader)
    writer.write(b"EHLO latency.bench\r\n")
    await _reply(reader)
    interval = 1.0 / rate
    start = time.monotonic() + offset
    i = 0
    while True:
        due = start + i * interval
        now = time.monotonic()
        if due > until:
            break
        if due > now:
            await asyncio.sleep(due - now)
        writer.write(b"MAIL FROM:<bench@src.example>\r\nRCPT TO:<" + recipient.encode() +
                     b">\r\nDATA\r\n")
        codes = [await _reply(reader) for _ in range(3)]
        if codes != [250, 250, 354]:
            raise RuntimeError(f"unexpected replies {codes}")
        writer.write(body)
        await writer.drain()
        t0 = time.perf_counter()
        code = await _reply(reader)
        samples.append(time.perf_counter() - t0)
        if code != 250:
            raise RuntimeError(f"end of data answered {code}")
        i += 1
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


def measure(host, port, rate, seconds, size, connections, recipient):
    line = b"x" * 76 + b"\r\n"
    text = b"Subject: latency\r\nFrom: <bench@src.example>\r\n\r\n" + line * max(1, size // len(line))
    body = text + b".\r\n"
    samples = []

    async def run():
        until = time.monotonic() + seconds
        per = rate / connections
        await asyncio.gather(*[
            _connection(host, port, per, until, body, recipient, samples, k / rate)
            for k in range(connections)])

    t0 = time.monotonic()
    asyncio.run(run())
    wall = time.monotonic() - t0
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(p * len(samples)))] * 1000

    return {"offered_per_s": round(rate, 1), "achieved_per_s": round(len(samples) / wall, 1),
            "samples": len(samples), "p50_ms": round(pct(0.50), 3), "p99_ms": round(pct(0.99), 3),
            "max_ms": round(samples[-1] * 1000, 3),
            "mean_ms": round(statistics.fmean(samples) * 1000, 3)}
