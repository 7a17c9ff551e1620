"""Resident memory against many large messages arriving at once: N sessions
each send a 10 MB message slowly (all are mid-message together), with the
shipped message-memory budget ([server] max_message_memory), with no budget
(every message held whole), and, given --baseline-sluiced, an earlier build
as it was. Reports sluiced's peak resident memory (VmHWM) and how many
messages were taken (250) or turned away (452 4.3.1)."""

import threading
import time

import lab

MIB = 1 << 20
LINE = b"x" * 78 + b"\r\n"
BLOCK = LINE * 3277  # ~256 KiB
BLOCKS = 40          # ~10 MB a message


def _reply(f):
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


def _session(host, port, go, ready, results, i):
    import socket
    try:
        s = socket.create_connection((host, port), timeout=300)
        f = s.makefile("rb")
        _reply(f)
        for cmd in (b"EHLO bench.test", b"MAIL FROM:<bench@src.example>",
                    b"RCPT TO:<user@dest.example>"):
            s.sendall(cmd + b"\r\n")
            _reply(f)
        s.sendall(b"DATA\r\n")
        code = _reply(f)
        ready.release()
        if code != 354:
            results[i] = code
            return
        go.wait(300)
        s.sendall(b"Subject: large\r\n\r\n")
        for _ in range(BLOCKS):
            s.sendall(BLOCK)
            time.sleep(0.02)
        s.sendall(b".\r\n")
        results[i] = _reply(f)
        s.sendall(b"QUIT\r\n")
        s.close()
    except OSError as e:
        results[i] = repr(e)
        ready.release()


def _case(args, work, sluice_addr, sink_addr, n, budget):
    """budget: "512MiB", None (no budget) or "baseline" (the earlier build, as it is)."""
    host, port = sluice_addr
    sink = lab.Sink(work, *sink_addr)
    if budget == "baseline":
        s = lab.Sluiced(args.baseline_sluiced, args.sluice, work / "large", host, port,
                        *sink_addr)
    else:
        s = lab.Sluiced(args.sluiced, args.sluice, work / "large", host, port, *sink_addr,
                        server_extra=f'max_message_memory = "{budget or 0}"')
    try:
        s.start()
        idle = lab.status_kb(s.pid, "VmRSS") * 1024
        go = threading.Event()
        ready = threading.Semaphore(0)
        results = [None] * n
        threads = [threading.Thread(target=_session, args=(host, port, go, ready, results, i))
                   for i in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for _ in range(n):
            ready.acquire(timeout=120)
        go.set()
        for t in threads:
            t.join(timeout=600)
        seconds = time.monotonic() - t0
        peak = lab.status_kb(s.pid, "VmHWM") * 1024
    finally:
        s.stop()
        sink.stop()
    taken = sum(1 for r in results if r == 250)
    refused = sum(1 for r in results if r == 452)
    return {"sessions": n, "budget": {None: "none", "baseline": "(baseline build)"}.get(budget, budget), "idle_rss_mib": round(idle / MIB),
            "peak_rss_mib": round(peak / MIB), "taken": taken, "refused": refused,
            "other": n - taken - refused, "seconds": round(seconds, 1)}


def measure(args, work, sluice_addr, sink_addr):
    out = []
    for n in args.large_sessions:
        baseline = ("baseline",) if getattr(args, "baseline_sluiced", None) else ()
        for budget in (*baseline, None, "512MiB"):
            r = _case(args, work, sluice_addr, sink_addr, n, budget)
            out.append(r)
            print(f"  {n:>4} x 10 MB, budget {r['budget']:>16}: peak RSS {r['peak_rss_mib']} MiB "
                  f"(idle {r['idle_rss_mib']}), {r['taken']} taken, {r['refused']} refused, "
                  f"{r['other']} other, {r['seconds']} s", flush=True)
    return out
