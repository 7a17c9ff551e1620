"""What an idle inbound connection costs in resident memory: sluiced holding
N plaintext connections after the greeting, and N implicit-TLS connections
after the handshake, beside smtp-sink (Postfix's event-driven test server)
holding N plaintext connections, measured in the same run."""

import resource
import socket
import ssl
import time

import lab

SMTPS_LISTENER = """
[[listener]]
name = "smtps"
kind = "smtps"
address = "{host}"
port = {port}
tls = "self-signed"
max_connections = 20000
max_connections_per_relay_client = 20000
"""


def _settle(pid):
    """VmRSS in bytes once it stops moving (bounded: 3 s)."""
    last = -1
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        now = lab.status_kb(pid, "VmRSS")
        if now == last:
            break
        last = now
        time.sleep(0.2)
    return last * 1024


def _hold(host, port, n, tls=False):
    """n connections that have each read their greeting (after a handshake with tls)."""
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    held = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=10)
        if ctx:
            s = ctx.wrap_socket(s)
        greeting = s.recv(200)
        assert greeting.startswith(b"220"), greeting
        held.append(s)
    return held


def _per_connection(pid, host, port, n, tls=False):
    warm = _hold(host, port, 5, tls)  # first-use allocations are not per connection
    before = _settle(pid)
    held = _hold(host, port, n, tls)
    after = _settle(pid)
    for s in held + warm:
        s.close()
    return (after - before) / n


def measure(args, work, sluice_addr, sink_addr):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.idle + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    host, port = sluice_addr
    out = {"connections": args.idle}
    sink = lab.Sink(work, *sink_addr)
    try:
        # smtp-sink serves at most 256 sessions at once.
        out["smtp_sink_connections"] = min(args.idle, 250)
        out["smtp_sink_bytes"] = _per_connection(sink.proc.pid, *sink_addr,
                                                 out["smtp_sink_connections"])
    finally:
        sink.stop()
    # A fresh sluiced for each kind: memory freed by one would be reused by the next.
    for key, listen_port, tls in (("plain_bytes", port, False), ("tls_bytes", port + 10, True)):
        sink = lab.Sink(work, *sink_addr)
        s = lab.Sluiced(args.sluiced, args.sluice, work / "sessions", host, port, *sink_addr,
                        extra=SMTPS_LISTENER.format(host=host, port=port + 10))
        try:
            s.start()
            out[key] = _per_connection(s.pid, host, listen_port, args.idle, tls)
        finally:
            s.stop()
            sink.stop()
    print(f"  {args.idle} idle connections: smtp-sink {out['smtp_sink_bytes']:.0f} B, "
          f"sluiced {out['plain_bytes']:.0f} B plaintext, {out['tls_bytes']:.0f} B TLS each",
          flush=True)
    return out
