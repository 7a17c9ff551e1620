"""HTTP injection beside SMTP injection: the same sluiced build, the same sink,
the same run.

POST /api/v1/messages over keep-alive connections (10 and 50 clients), each
request a 1 KB message built from parts for 1 or 100 recipients (one message
per recipient, as the API builds them), relayed to smtp-sink; beside it,
smtp-source injecting 1 KB messages over SMTP with the same number of
sessions. For each: wall time until the sink has every message, messages per
second, and sluiced's CPU per 1,000 messages. The goal is an HTTP path at
least as fast per message as SMTP.
"""

import json
import multiprocessing
import socket
import threading
import time

import lab

SLUICE = ("127.0.0.84", 2801)
SINK = ("127.0.0.85", 2802)
HTTP_PORT = 2803
TEXT = ("This is a benchmark message of about one kilobyte, built from parts. " * 13)[:900]


def _body(r, batch):
    return json.dumps({
        "from": {"email": "bench@src.example", "name": "Bench"},
        "subject": "bench {{n}}", "text": TEXT,
        "recipients": [{"email": f"u{r}-{k}@dest.example", "substitutions": {"n": str(k)}}
                       for k in range(batch)]}).encode()


def _client(port, key, requests, batch, out):
    """Keep-alive requests over one socket, all built first, each answer read
    back by its Content-Length: the client should cost little beside the
    server it measures (they share the machine)."""
    head = (f"POST /api/v1/messages HTTP/1.1\r\nHost: {SLUICE[0]}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n")
    wire = [(head + f"Content-Length: {len(b)}\r\n\r\n").encode() + b
            for b in (_body(r, batch) for r in requests)]
    sock = socket.create_connection((SLUICE[0], port), timeout=60)
    buf = b""
    sent = 0
    for request in wire:
        sock.sendall(request)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                header = buf[:end].decode("latin-1")
                length = 0
                for line in header.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(buf) >= end + 4 + length:
                    break
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        if header.split(" ", 2)[1] == "202":
            sent += batch
        buf = buf[end + 4 + length:]
    sock.close()
    out.put(sent)


def _process(port, key, shares, batch, out):
    threads = [threading.Thread(target=_client, args=(port, key, share, batch, out))
               for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _inject_http(port, key, n, clients, batch, processes=4):
    requests = n // batch
    shares = [list(range(k, requests, clients)) for k in range(clients)]
    out = multiprocessing.Queue()
    procs = []
    for p in range(processes):
        proc = multiprocessing.Process(target=_process,
                                       args=(port, key, shares[p::processes], batch, out))
        proc.start()
        procs.append(proc)
    return procs


def _run(args, work, binary, inject, n):
    sink = lab.Sink(work, *SINK)
    extra = (f'\n[api]\nkeys_file = "{work}/http/api-keys"\n\n[[http]]\nname = "api"\n'
             f'address = "{SLUICE[0]}"\nport = {HTTP_PORT}\n')
    s = lab.Sluiced(binary, args.sluice, work / "http", *SLUICE, *SINK, extra=extra)
    try:
        s.start()
        made = s.cli_run("key", "create", "bench", "--json")
        key = json.loads(made.stdout)["key"]
        cpu0 = lab.cpu_seconds(s.pid)
        t0 = time.monotonic()
        procs = inject(key)
        done = sink.wait_messages(n, timeout=args.case_timeout)
        for p in procs if isinstance(procs, list) else []:
            p.join(timeout=30)
        if not isinstance(procs, list):
            procs.wait(timeout=30)
        got = sink.messages()
        wall = (done or time.monotonic()) - t0
        used = lab.cpu_seconds(s.pid) - cpu0
        return {"messages": n, "delivered": got, "complete": done is not None and got >= n,
                "seconds": round(wall, 2), "msgs_per_s": round(got / wall, 1),
                "cpu_s_per_1000": round(used / max(got, 1) * 1000, 3)}
    finally:
        s.stop()
        sink.stop()


def run(args, work):
    """Rows: (via, clients, batch, numbers)."""
    n = args.n_http
    rows = []
    for clients in (10, 50):
        r = _run(args, work, args.sluiced,
                 lambda key, c=clients: lab.smtp_source_start(*SLUICE, n, 1000, c,
                                                              "rcpt@dest.example"), n)
        rows.append({"via": "smtp", "clients": clients, "batch": 1, **r})
        print(f"  smtp  {clients:>3} sessions            {r['delivered']:>6}/{n} in "
              f"{r['seconds']:6.2f} s = {r['msgs_per_s']:8.1f} msg/s, "
              f"{r['cpu_s_per_1000']:.3f} CPU s/1000", flush=True)
        for batch in (1, 100):
            r = _run(args, work, args.sluiced,
                     lambda key, c=clients, b=batch: _inject_http(HTTP_PORT, key, n, c, b), n)
            rows.append({"via": "http", "clients": clients, "batch": batch, **r})
            print(f"  http  {clients:>3} clients, {batch:>3} rcpt/req {r['delivered']:>6}/{n} in "
                  f"{r['seconds']:6.2f} s = {r['msgs_per_s']:8.1f} msg/s, "
                  f"{r['cpu_s_per_1000']:.3f} CPU s/1000", flush=True)
    return rows
