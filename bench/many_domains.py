"""Many destinations: the same mail spread over more and more recipient domains.

20,000 messages of 1 KB, one recipient each, round-robin over 1, 100 and 2,000
recipient domains whose MX records come from a local DNS server (dnsmasq on
loopback), received by 1, 10 and 50 smtp-sink hosts (127.0.1.x, one port).
Injected by 20 pipelining client sessions (4 processes). For each system:
wall time until every message reached a sink, throughput, the server's CPU
per 1,000 messages and, for Sluice, acceptance-to-delivery latency from its
event log. What matters is the ratio to the single-domain case of the same
system in the same run.

Postfix runs beside it with a transport map (domain -> host) instead of DNS:
its resolver cannot be pointed at a loopback port without changing the
machine's resolv.conf. So its numbers carry no DNS work; Sluice's do.
"""

import json
import multiprocessing
import socket
import subprocess
import time
from pathlib import Path

import lab

SINK_PORT = 2700
SLUICE = ("127.0.0.81", 2701)
POSTFIX = ("127.0.0.82", 2702)
# (domains, receiving hosts): 2,000 domains on one host is the sender's own
# per-destination bookkeeping alone; on 50 hosts, the receivers' fan-out too.
CASES = [(1, 1), (100, 10), (2000, 1), (2000, 50)]
BODY = ("Subject: bench\r\nFrom: bench@src.example\r\n\r\n" + "x" * 70 + "\r\n") * 13


def _hosts(n):
    return [f"127.0.1.{i + 1}" for i in range(n)]


def _domain(i):
    return f"d{i}.bench.example"


class Dns:
    """dnsmasq answering MX and A records for the bench domains on a loopback port."""

    def __init__(self, work, domains, hosts):
        conf = Path(work) / "dnsmasq.conf"
        lines = [f"host-record=mx{k}.bench.test,{h}" for k, h in enumerate(hosts)]
        lines += [f"mx-host={_domain(i)},mx{i % len(hosts)}.bench.test,10" for i in range(domains)]
        conf.write_text("\n".join(lines) + "\n")
        # A free UDP port may be taken for TCP (dnsmasq binds both): another.
        for _ in range(5):
            self.port = _free_udp_port()
            self.proc = subprocess.Popen(
                [lab.DNSMASQ, "--keep-in-foreground", f"--conf-file={conf}", "--no-resolv",
                 "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces",
                 f"--port={self.port}", "--pid-file=", "--user=root", "--local=/example/",
                 "--local=/test/", "--cache-size=10000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                if _answers(self.port, _domain(0)):
                    return
                time.sleep(0.02)  # polling interval
            self.stop()
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


def _answers(port, name):
    """Whether a DNS server on 127.0.0.1:port answers an MX query for `name`."""
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    query += b"\x00\x0f\x00\x01"  # MX, IN
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(query, ("127.0.0.1", port))
        return s.recv(512)[:2] == b"\x12\x34"
    except OSError:
        return False
    finally:
        s.close()


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _reply(f):
    """One SMTP reply's code (multi-line replies read whole)."""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("server closed")
        if line[3:4] != b"-":
            return int(line[:3])


def _session(host, port, indices, domains, out):
    """Sends one message per index, pipelined (MAIL, RCPT, DATA in one write)."""
    s = socket.create_connection((host, port), timeout=60)
    f = s.makefile("rb")
    _reply(f)
    s.sendall(b"EHLO bench.client\r\n")
    _reply(f)
    sent = 0
    for i in indices:
        rcpt = f"u{i}@{_domain(i % domains)}"
        s.sendall(f"MAIL FROM:<bench@src.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        codes = (_reply(f), _reply(f), _reply(f))
        if codes != (250, 250, 354):
            raise RuntimeError(f"refused: {codes}")
        s.sendall(BODY.encode() + b".\r\n")
        if _reply(f) == 250:
            sent += 1
    s.sendall(b"QUIT\r\n")
    s.close()
    out.put(sent)


def _process(host, port, sessions, domains, out):
    import threading
    threads = [threading.Thread(target=_session, args=(host, port, idx, domains, out))
               for idx in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def inject(host, port, n, domains, sessions=20, processes=4):
    """Starts the injection; returns (processes, result queue)."""
    out = multiprocessing.Queue()
    per_session = [list(range(k, n, sessions)) for k in range(sessions)]
    procs = []
    for p in range(processes):
        mine = per_session[p::processes]
        proc = multiprocessing.Process(target=_process, args=(host, port, mine, domains, out))
        proc.start()
        procs.append(proc)
    return procs, out


def _latency_p99(events_path):
    received, delivered = {}, []
    with open(events_path) as f:
        for line in f:
            e = json.loads(line)
            if e["type"] == "Reception":
                received[e["id"]] = e["timestamp"]
            elif e["type"] == "Delivery":
                delivered.append((e["id"], e["timestamp"]))

    def t(stamp):
        from datetime import datetime
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    lat = sorted(t(ts) - t(received[i]) for i, ts in delivered if i in received)
    if not lat:
        return None
    return round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)


def case(system, binary, cli, domains, hosts, n, work, timeout):
    work = Path(work)
    addrs = _hosts(hosts)
    dns = Dns(work, domains, addrs)
    try:
        sinks = [lab.Sink(work, h, SINK_PORT) for h in addrs]
    except Exception:
        dns.stop()
        raise
    target = None
    try:
        if system == "postfix":
            routes = {_domain(i): (addrs[i % hosts], SINK_PORT) for i in range(domains)}
            target = lab.Postfix(work / "postfix", *POSTFIX, None, None, transport=routes).start()
            host, port = POSTFIX
            cpu = lab.tree_cpu_seconds
        else:
            target = lab.Sluiced(binary, cli, work / "sluice", *SLUICE, None, SINK_PORT,
                                 dns=f"127.0.0.1@{dns.port}").start()
            host, port = SLUICE
            cpu = lab.cpu_seconds
        cpu0 = cpu(target.pid)
        sinks0 = sum(lab.cpu_seconds(s.proc.pid) for s in sinks)
        t0 = time.monotonic()
        procs, _ = inject(host, port, n, domains)
        done_at = None
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if sum(s.messages() for s in sinks) >= n:
                done_at = time.monotonic()
                break
            time.sleep(0.02)  # polling interval, under the deadline above
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
        got = sum(s.messages() for s in sinks)
        used = cpu(target.pid) - cpu0
        sinks_used = sum(lab.cpu_seconds(s.proc.pid) for s in sinks) - sinks0
        wall = (done_at or time.monotonic()) - t0
        row = {"system": system, "domains": domains, "hosts": hosts, "messages": n,
               "delivered": got, "complete": done_at is not None and got == n,
               "seconds": round(wall, 2), "msgs_per_s": round(got / wall, 1),
               "cpu_s_per_1000": round(used / max(got, 1) * 1000, 3),
               "receivers_cpu_s_per_1000": round(sinks_used / max(got, 1) * 1000, 3)}
        if system != "postfix":
            row["p99_ms"] = _latency_p99(work / "sluice" / "events.jsonl")
        return row
    finally:
        if target:
            target.stop()
        dns.stop()
        for s in sinks:
            s.stop()


def run(args, work, systems):
    """systems: [(name, sluiced binary or None for Postfix)]. Returns rows with
    each system's ratios to its own single-domain case."""
    rows = []
    for domains, hosts in CASES:
        for name, binary in systems:
            r = case(name, binary, args.sluice, domains, hosts, args.n_domains, work,
                     args.case_timeout)
            rows.append(r)
            print(f"  {name:16} {domains:>5} domains {hosts:>3} hosts {r['delivered']:>6}/"
                  f"{r['messages']} in {r['seconds']:7.2f} s = {r['msgs_per_s']:8.1f} msg/s, "
                  f"{r['cpu_s_per_1000']:.3f} CPU s/1000 (receivers "
                  f"{r['receivers_cpu_s_per_1000']:.3f})"
                  + (f", p99 {r['p99_ms']} ms" if r.get("p99_ms") is not None else ""),
                  flush=True)
    for r in rows:
        base = next(b for b in rows if b["system"] == r["system"] and b["domains"] == 1)
        r["throughput_vs_1_domain"] = round(r["msgs_per_s"] / max(base["msgs_per_s"], 0.1), 2)
        r["cpu_vs_1_domain"] = round(r["cpu_s_per_1000"] / max(base["cpu_s_per_1000"], 1e-6), 2)
    return rows
