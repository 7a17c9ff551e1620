#!/usr/bin/python3
"""Sluice benchmarks: relay throughput beside the smtp-source -> smtp-sink ceiling
and a tuned Postfix relay (same run, same sink), backlog memory, recovery time,
end-of-DATA latency, and DKIM signatures per second beside `openssl speed`.
Prints a table and writes bench/results/<stamp>.json.

  bench/run.py                 everything (about 20-30 minutes on 2 cores)
  bench/run.py --quick         a small smoke run of every part
  bench/run.py --only relay    or: backlog (includes recovery), latency, dkim, sessions, large,
                               domains (many destinations, beside Postfix), http
                               (HTTP injection beside SMTP), suppression (10M-entry
                               lookups beside an in-memory set)
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dkim  # noqa: E402
import lab  # noqa: E402
import large_messages  # noqa: E402
import http_inject  # noqa: E402
import many_domains  # noqa: E402
import latency  # noqa: E402
import sessions  # noqa: E402
import webhook_receiver  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SINK = ("127.0.0.80", 2600)
SLUICE = ("127.0.0.81", 2601)
POSTFIX = ("127.0.0.82", 2602)
RCPT = "user@dest.example"
# The Sluice systems measured: unsigned, and signing as a user would (the shipped
# shaping rules are loaded in each).
SIGNING = {"sluice": None, "sluice+ed25519": "ed25519", "sluice+rsa2048": "rsa2048"}
# An earlier build of sluiced (--baseline-sluiced), unsigned: before/after in one run.
BEFORE = "sluice@baseline"
# Sluice keeping no message history (GET /api/v1/messages/ID): what the history
# costs, 1 KB cases only.
NO_HISTORY = "sluice-nohistory"
# Sluice with [metrics] enabled = false: what recording the metrics costs
# (the other Sluice systems run with them, the default), 1 KB cases only.
NO_METRICS = "sluice-nometrics"
# Sluice with a webhook taking every record (a local receiver that answers at
# once): what the outbox and the sender cost, and whether the receiver keeps up.
WEBHOOK = "sluice+webhook"
RECEIVER = ("127.0.0.83", 2603)


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "revision": revision()}


def revision():
    """The checkout's git revision, or "unknown" without git or outside a repository
    (a checkout from a tarball)."""
    def git(*argv):
        try:
            p = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True)
        except OSError:
            return None
        return p.stdout.strip() if p.returncode == 0 else None
    rev = git("rev-parse", "--short", "HEAD")
    if not rev:
        return "unknown"
    dirty = git("status", "--porcelain", "--", "src")
    return rev + ("+dirty" if dirty else "")


# --- relay throughput ------------------------------------------------------------------

def relay_case(system, size, sessions, n, args, work):
    """One measurement: smtp-source -> system -> smtp-sink. Returns a result dict."""
    sink = lab.Sink(work, *SINK)
    target = None
    receiver = None
    try:
        if system == "ceiling":
            host, port = SINK
        elif system == BEFORE:
            target = lab.Sluiced(args.baseline_sluiced, args.sluice, work / "sluice", *SLUICE,
                                 *SINK).start()
            host, port = SLUICE
        elif system == NO_HISTORY:
            target = lab.Sluiced(args.sluiced, args.sluice, work / "sluice", *SLUICE, *SINK,
                                 history=False).start()
            host, port = SLUICE
        elif system == NO_METRICS:
            target = lab.Sluiced(args.sluiced, args.sluice, work / "sluice", *SLUICE, *SINK,
                                 extra="\n[metrics]\nenabled = false\n").start()
            host, port = SLUICE
        elif system == WEBHOOK:
            receiver = webhook_receiver.Receiver(*RECEIVER).start()
            target = lab.Sluiced(args.sluiced, args.sluice, work / "sluice", *SLUICE, *SINK,
                                 extra=receiver.config()).start()
            host, port = SLUICE
        elif system.startswith("sluice"):
            target = lab.Sluiced(args.sluiced, args.sluice, work / "sluice", *SLUICE, *SINK,
                                 sign=SIGNING[system]).start()
            host, port = SLUICE
        else:
            target = lab.Postfix(work / "postfix", *POSTFIX, *SINK).start()
            host, port = POSTFIX
        pid = target.pid if target else None
        cpu0 = (lab.cpu_seconds(pid) if system.startswith("sluice")
                else lab.tree_cpu_seconds(pid) if system == "postfix" else 0.0)
        t0 = time.monotonic()
        src = lab.smtp_source_start(host, port, n, size, sessions, RCPT)
        peak = 0
        deadline = t0 + args.case_timeout
        done_at = None
        sampled = 0.0
        while time.monotonic() < deadline:
            if sink.messages() >= n:
                done_at = time.monotonic()
                break
            # Postfix's memory is the sum over its processes: sampled, sparingly.
            if system == "postfix" and time.monotonic() - sampled > 0.5:
                sampled = time.monotonic()
                peak = max(peak, sum(lab.status_kb(p, "VmRSS")
                                     for p in [pid] + lab.descendants(pid)))
            time.sleep(0.01)
        src_rc = src.wait(timeout=60) if src.poll() is None and done_at else src.poll()
        if src.poll() is None:
            src.kill()
            src.wait()
        got = sink.messages()
        cpu = 0.0
        if system.startswith("sluice"):
            cpu = lab.cpu_seconds(pid) - cpu0
            peak = max(peak, lab.status_kb(pid, "VmHWM"))
        elif system == "postfix":
            cpu = lab.tree_cpu_seconds(pid) - cpu0
        wall = (done_at or time.monotonic()) - t0
        hook = {}
        if receiver:
            # Each message makes a Reception and a Delivery record: all of them
            # should reach the receiver soon after the mail reached the sink.
            want = 2 * got
            hook_deadline = time.monotonic() + 120
            while receiver.count()[0] < want and time.monotonic() < hook_deadline:
                time.sleep(0.05)  # polling the receiver's count, bounded by hook_deadline
            events, posts, last_at = receiver.count()
            span = (last_at or time.monotonic()) - t0
            hook = {"webhook_events": events, "webhook_expected": want, "webhook_posts": posts,
                    "webhook_lag_s": round(max(0.0, (last_at or t0) - (done_at or t0)), 3),
                    "webhook_events_per_min": round(events / max(span, 0.001) * 60)}
        return {**hook, "system": system, "size": size, "sessions": sessions, "messages": n,
                "delivered": got, "complete": done_at is not None and got == n,
                "source_exit": src_rc, "seconds": round(wall, 3),
                "msgs_per_s": round(got / wall, 1),
                "cpu_s_per_1000": round(cpu / max(got, 1) * 1000, 3) if target else None,
                "peak_rss_mib": round(peak / 1024, 1) if target else None}
    finally:
        if target:
            target.stop()
        if receiver:
            receiver.stop()
        sink.stop()


def relay(args, work):
    rows = []
    for size in args.sizes:
        for sessions in args.sessions:
            n = args.n if size <= 20_000 else args.n_large
            case = {}
            before = (BEFORE,) if args.baseline_sluiced else ()
            history = (NO_HISTORY, NO_METRICS, WEBHOOK) if size <= 1000 else ()
            systems = [x for x in ("ceiling", *SIGNING, *history, *before, "postfix")
                       if x not in args.skip]
            # Short runs on a small machine are noisy: the ceiling and Sluice
            # run `repeat` times and the median run counts (Postfix, at a
            # minute a case, runs once). The systems take turns, so that a
            # machine slowing down or speeding up during the benchmark weighs
            # on all of them alike, and each round starts one further along,
            # so that none always follows the same one (a run leaves dirty
            # pages and sockets behind for the next).
            runs = {x: [] for x in systems}
            for rep in range(args.repeat):
                k = rep % len(systems)
                for system in systems[k:] + systems[:k]:
                    if system == "postfix" and rep > 0:
                        continue
                    r = relay_case(system, size, sessions, n, args, work)
                    runs[system].append(r)
                    print(f"  {system:14} {size // 1000:>4} KB x{sessions:<3} {r['delivered']:>6}/{n} "
                          f"in {r['seconds']:7.2f} s = {r['msgs_per_s']:8.1f} msg/s", flush=True)
            by_rep = {system: list(rs) for system, rs in runs.items()}  # in the order run
            for system, rs in runs.items():
                rs.sort(key=lambda r: r["msgs_per_s"])
                r = dict(rs[len(rs) // 2])
                r["runs_msgs_per_s"] = [x["msgs_per_s"] for x in rs]
                r["complete"] = all(x["complete"] for x in rs)
                case[system] = r
            for system in (*SIGNING, NO_HISTORY, NO_METRICS, WEBHOOK, BEFORE):
                s = case.get(system)
                if not s:
                    continue
                if "ceiling" in case:
                    s["of_ceiling"] = round(s["msgs_per_s"] / case["ceiling"]["msgs_per_s"], 3)
                if "postfix" in case:
                    s["vs_postfix"] = round(s["msgs_per_s"] / max(case["postfix"]["msgs_per_s"], 0.1), 2)

            def paired(a, b, key):
                """The median, over the rounds, of a's run over b's run of the same
                round (run one after the other): drift across rounds cancels out."""
                ratios = sorted(x[key] / y[key] for x, y in zip(by_rep[a], by_rep[b])
                                if x.get(key) and y.get(key))
                return round(ratios[len(ratios) // 2], 3) if ratios else None

            if NO_METRICS in case and "sluice" in case:
                # Throughput with metrics recorded, as a share of that without.
                case["sluice"]["with_metrics_of_without"] = paired("sluice", NO_METRICS, "msgs_per_s")
                case["sluice"]["cpu_with_metrics_of_without"] = paired(
                    "sluice", NO_METRICS, "cpu_s_per_1000")
            if NO_METRICS in case and WEBHOOK in case:
                # Metrics and a webhook on, as a share of neither.
                case[WEBHOOK]["with_webhook_of_without"] = paired(WEBHOOK, NO_METRICS, "msgs_per_s")
                case[WEBHOOK]["cpu_with_webhook_of_without"] = paired(
                    WEBHOOK, NO_METRICS, "cpu_s_per_1000")
            rows.extend(case.values())
    return rows


# --- backlog and recovery -----------------------------------------------------------------

def backlog(args, work):
    """Fills a spool with 1 KB messages for a suspended destination (`sluice queue
    suspend`: held, never attempted), then restarts sluiced on it with the
    suspension lifted (its state file removed while sluiced is down), so every
    message is due at once and goes to a sink that defers it (4xx at RCPT): the
    first attempt marks the moment delivery could start."""
    sink = lab.Sink(work, *SINK, soft_reject="rcpt")
    s = lab.Sluiced(args.sluiced, args.sluice, work / "backlog", *SLUICE, *SINK)
    out = {}
    try:
        s.start()
        r = s.cli_run("queue", "suspend", "dest.example")
        assert r.returncode == 0, r
        time.sleep(0.5)
        rss0 = lab.status_kb(s.pid, "VmRSS")
        t0 = time.monotonic()
        src = lab.smtp_source_start(*SLUICE, args.backlog, 1000, 50, RCPT)
        try:
            src.wait(timeout=args.backlog_time)
        except subprocess.TimeoutExpired:
            src.terminate()
            src.wait()
        inject_s = time.monotonic() - t0
        time.sleep(2)
        count = int(s.cli_run("spool", "count").stdout.split()[0])
        rss1 = lab.status_kb(s.pid, "VmRSS")
        spool_bytes = lab.dir_bytes(s.workdir / "spool")
        out.update({"messages": count, "inject_seconds": round(inject_s, 1),
                    "inject_msgs_per_s": round(count / inject_s, 1),
                    "rss_baseline_mib": round(rss0 / 1024, 1),
                    "rss_mib": round(rss1 / 1024, 1),
                    "rss_bytes_per_message": round((rss1 - rss0) * 1024 / max(count, 1), 1),
                    "spool_bytes_per_message": round(spool_bytes / max(count, 1), 1)})
        print(f"  backlog: {count} messages in {inject_s:.0f} s; "
              f"RSS {rss0 / 1024:.0f} -> {rss1 / 1024:.0f} MiB = "
              f"{out['rss_bytes_per_message']} B/message; spool {out['spool_bytes_per_message']} "
              f"B/message", flush=True)
        s.stop(timeout=120)
        # Operator suspensions outlast a restart: lift this one while sluiced is down.
        (s.workdir / "spool" / "suspensions.state").unlink(missing_ok=True)

        # Recovery: from exec until the spool is scanned back into the queues
        # (ready), and until the first delivery attempt reaches the sink.
        sessions0 = sink.counters()[0]
        s.start()
        ready_s = s.t_ready - s.t_exec
        deadline = time.monotonic() + 300
        first = None
        while time.monotonic() < deadline:
            if sink.counters()[0] > sessions0:
                first = time.monotonic() - s.t_exec
                break
            time.sleep(0.005)
        log = s.log_path.read_text()
        scan = [line for line in log.splitlines() if "messages recovered in" in line]
        out.update({"recovery_ready_seconds": round(ready_s, 2),
                    "recovery_first_delivery_seconds": round(first, 2) if first else None,
                    "recovery_log": scan[-1].split("] ", 1)[-1] if scan else None,
                    "rss_after_recovery_mib": round(lab.status_kb(s.pid, "VmRSS") / 1024, 1)})
        print(f"  recovery: ready after {ready_s:.2f} s, first delivery attempt after "
              f"{first if first is None else round(first, 2)} s", flush=True)
    finally:
        s.stop(timeout=120)
        sink.stop()
    return out


# --- latency -------------------------------------------------------------------------------

def latency_case(args, work, rate):
    sink = lab.Sink(work, *SINK)
    s = lab.Sluiced(args.sluiced, args.sluice, work / "latency", *SLUICE, *SINK, sign="ed25519")
    try:
        s.start()
        r = latency.measure(*SLUICE, rate=rate, seconds=args.latency_seconds, size=1000,
                            connections=10, recipient=RCPT)
        print(f"  latency at {rate:.0f} msg/s offered ({r['achieved_per_s']:.0f} achieved): "
              f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms", flush=True)
        return r
    finally:
        s.stop()
        sink.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sluiced", default=str(ROOT / "build/src/app/sluiced"))
    ap.add_argument("--sluice", default=str(ROOT / "build/src/app/sluice"))
    ap.add_argument("--work", default="/tmp/sluice-bench")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"),
                    help="directory for the JSON result")
    ap.add_argument("--baseline-sluiced",
                    help="an earlier sluiced binary, measured as sluice@baseline in the relay part")
    ap.add_argument("--dkim-bench", default=str(ROOT / "build/bench/dkim_bench"))
    ap.add_argument("--dkim-seconds", type=float, default=5)
    ap.add_argument("--suppression-bench", default=str(ROOT / "build/bench/suppression_bench"))
    ap.add_argument("--suppression-entries", type=int, default=10_000_000)
    ap.add_argument("--stats-bench", default=str(ROOT / "build/bench/stats_bench"))
    ap.add_argument("--stats-events", type=int, default=2_000_000)
    ap.add_argument("--only", choices=["relay", "backlog", "latency", "dkim", "sessions", "large",
                                       "domains", "http", "suppression", "stats"],
                    action="append")
    ap.add_argument("--idle", type=int, default=2000, help="idle connections, sessions case")
    ap.add_argument("--large-sessions", type=int, nargs="+", default=[10, 100, 500],
                    help="sessions each sending 10 MB at once, large case")
    ap.add_argument("--skip", action="append", default=[],
                    help="ceiling, sluice, sluice+ed25519, sluice+rsa2048, sluice-nohistory, "
                         "sluice-nometrics, sluice+webhook, sluice@baseline or postfix")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=20000, help="messages per case, 1 and 20 KB")
    ap.add_argument("--n-large", type=int, default=20000, help="messages per 100 KB case")
    ap.add_argument("--n-domains", type=int, default=20000, help="messages per many-domains case")
    ap.add_argument("--n-http", type=int, default=20000, help="messages per HTTP/SMTP injection case")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000, 100000])
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--case-timeout", type=float, default=300)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each ceiling and sluice case")
    ap.add_argument("--backlog", type=int, default=1_000_000)
    ap.add_argument("--backlog-time", type=float, default=600)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--latency-rate", type=float, help="default: half the 1 KB x10 sluice rate")
    args = ap.parse_args()
    if args.quick:
        args.n, args.n_large, args.backlog, args.backlog_time = 500, 200, 5000, 60
        args.n_domains = 2000
        args.n_http = 1000
        args.case_timeout = min(args.case_timeout, 120)
        args.repeat = 1
        args.latency_seconds = 3
        args.dkim_seconds = 1
        args.idle = 100
        args.large_sessions = [5, 20]
        args.suppression_entries = 200_000
        args.stats_events = 100_000
    parts = args.only or ["relay", "backlog", "latency", "dkim", "sessions", "large", "domains",
                          "http", "suppression", "stats"]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "quick": args.quick}
    print(f"machine: {result['machine']}", flush=True)
    if "relay" in parts:
        print("relay throughput:", flush=True)
        result["relay"] = relay(args, work)
    if "backlog" in parts:
        print("backlog memory and recovery:", flush=True)
        result["backlog"] = backlog(args, work)
    if "latency" in parts:
        rate = args.latency_rate
        if rate is None:
            base = [r for r in result.get("relay", []) if r["system"] == "sluice+ed25519"
                    and r["size"] == 1000 and r["sessions"] == 10]
            rate = base[0]["msgs_per_s"] / 2 if base else 500
        print("latency:", flush=True)
        result["latency"] = latency_case(args, work, rate)

    if "dkim" in parts:
        print("dkim signing:", flush=True)
        result["dkim"] = dkim.measure(args.dkim_bench, os.cpu_count(), args.dkim_seconds,
                                      args.repeat)

    if "sessions" in parts:
        print("idle sessions:", flush=True)
        result["sessions"] = sessions.measure(args, work, SLUICE, SINK)
    if "large" in parts:
        print("large messages at once:", flush=True)
        result["large"] = large_messages.measure(args, work, SLUICE, SINK)

    if "domains" in parts:
        print("many destinations:", flush=True)
        systems = [("sluice", args.sluiced)]
        if args.baseline_sluiced:
            systems.append((BEFORE, args.baseline_sluiced))
        # Not in the smoke run: four Postfix instances back to back, at a few
        # hundred messages a second, are most of its time (the relay part
        # already runs Postfix there).
        if "postfix" not in args.skip and not args.quick:
            systems.append(("postfix", None))
        result["domains"] = many_domains.run(args, work, systems)

    if "http" in parts:
        print("HTTP injection beside SMTP injection:", flush=True)
        result["http"] = http_inject.run(args, work)

    if "suppression" in parts:
        print("suppression lookups:", flush=True)
        out = subprocess.run([args.suppression_bench, str(work / "suppression"),
                              str(args.suppression_entries),
                              str(min(500_000, args.suppression_entries // 4))],
                             capture_output=True, text=True, check=True, timeout=1800).stdout
        # RocksDB's warnings may come first (the log goes to stdout): the last line is ours.
        result["suppression"] = json.loads(
            [line for line in out.splitlines() if line.startswith("{")][-1])

    if "stats" in parts:
        print("statistics counting:", flush=True)
        out = subprocess.run([args.stats_bench, str(work / "stats"), str(args.stats_events), "2"],
                             capture_output=True, text=True, check=True, timeout=1800).stdout
        result["stats"] = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])

    print()
    print(table(result))
    out = Path(args.out) / (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                            + ("-quick" if args.quick else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {out}")


def table(result):
    lines = []
    if result.get("relay"):
        lines.append("msg/s: median of the runs for ceiling and sluice; "
                     "a case counts only if every message reached the sink.")
        lines.append("")
        lines.append("| case | system | msg/s | of ceiling | vs Postfix | CPU s/1000 msgs | peak RSS MiB | delivered |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in result["relay"]:
            lines.append(
                f"| {r['size'] // 1000} KB x{r['sessions']} | {r['system']} | {r['msgs_per_s']:.0f} | "
                f"{r.get('of_ceiling', '') and format(r['of_ceiling'], '.0%')} | "
                f"{r.get('vs_postfix', '') and format(r['vs_postfix'], '.1f') + 'x'} | "
                f"{'' if r['cpu_s_per_1000'] is None else r['cpu_s_per_1000']} | "
                f"{'' if r['peak_rss_mib'] is None else r['peak_rss_mib']} | "
                f"{r['delivered']}/{r['messages']} |")
        for r in result["relay"]:
            if "with_metrics_of_without" in r:
                lines.append(f"metrics recorded, {r['size'] // 1000} KB x{r['sessions']}: "
                             f"{r['with_metrics_of_without']:.1%} of the throughput without "
                             f"({NO_METRICS}, same round), "
                             f"{r['cpu_with_metrics_of_without']:.1%} of its CPU per message "
                             f"(medians of the rounds' ratios)")
            if "with_webhook_of_without" in r:
                lines.append(f"metrics and a webhook taking every record, {r['size'] // 1000} KB "
                             f"x{r['sessions']}: {r['with_webhook_of_without']:.1%} of the "
                             f"throughput with neither, {r['cpu_with_webhook_of_without']:.1%} "
                             f"of its CPU per message; the receiver got "
                             f"{r['webhook_events']}/{r['webhook_expected']} records "
                             f"({r['webhook_events_per_min']:,} a minute, {r['webhook_posts']} "
                             f"POSTs), the last {r['webhook_lag_s']} s after the last message")
    b = result.get("backlog")
    if b:
        lines.append("")
        lines.append(f"backlog: {b['messages']} queued 1 KB messages: "
                     f"{b['rss_bytes_per_message']} B RSS and {b['spool_bytes_per_message']} B spool "
                     f"per message; restart: ready in {b['recovery_ready_seconds']} s, first "
                     f"delivery attempt after {b['recovery_first_delivery_seconds']} s")
    sp = result.get("suppression")
    if sp:
        lines.append("")
        lines.append(f"suppression lists, {sp['entries']:,} entries over three lists "
                     "(Find with tenant and campaign: six keys); baseline: the same entries in "
                     "a std::unordered_set:")
        lines.append("")
        lines.append("| store | lookup, not listed | lookup, listed | memory |")
        lines.append("|---|---:|---:|---:|")
        lines.append(f"| RocksStore (32 MiB cache) | {sp['find_miss_us']:.1f} us | "
                     f"{sp['find_hit_us']:.1f} us | {sp['store_memory_bytes'] / 2**20:.0f} MiB "
                     f"(RSS {sp['rss_store_bytes'] / 2**20:.0f} MiB; disk "
                     f"{sp['disk_bytes'] / 2**20:.0f} MiB) |")
        lines.append(f"| unordered_set (baseline) | {sp['set_lookup_us']:.1f} us (both) | | "
                     f"{sp['set_rss_bytes'] / 2**20:.0f} MiB |")
    st = result.get("stats")
    if st:
        lines.append("")
        lines.append(f"statistics: {st['events']:,} delivery outcomes over a day from "
                     f"{st['threads']} threads (20 tenants, 200 campaigns, 2,000 domains); "
                     "baseline: one mutex-guarded hash map increment per event:")
        lines.append("")
        lines.append("| counting | per event | events/s |")
        lines.append("|---|---:|---:|")
        lines.append(f"| stats::Recorder (3 rows each, gathered) | {st['record_ns']:.0f} ns | "
                     f"{st['record_per_s']:,.0f} |")
        lines.append(f"| ... and their merge into RocksDB (the writer) | {st['write_ns']:.0f} ns | "
                     f"{1e9 / max(st['write_ns'], 1):,.0f} |")
        lines.append(f"| hash map (baseline) | {st['map_ns']:.0f} ns | {st['map_per_s']:,.0f} |")
        lines.append("")
        lines.append(f"dropped: {st['dropped']}; a day of it on disk: "
                     f"{st['disk_bytes'] / 2**20:.1f} MiB; questions: "
                     f"hourly totals {st['query_day_hourly_ms']:.0f} ms, hourly by provider "
                     f"{st['query_day_hourly_by_provider_ms']:.0f} ms, by domain "
                     f"{st['query_day_by_domain_ms']:.0f} ms, 10-minute steps by tenant "
                     f"{st['query_day_10min_by_tenant_ms']:.0f} ms")
    lt = result.get("latency")
    if lt:
        lines.append(f"latency (end of DATA -> 250) at {lt['achieved_per_s']:.0f} msg/s: "
                     f"p50 {lt['p50_ms']:.2f} ms, p99 {lt['p99_ms']:.2f} ms, max {lt['max_ms']:.2f} ms")
    ss = result.get("sessions")
    if ss:
        lines.append("")
        lines.append(f"resident memory per idle connection ({ss['connections']} connections "
                     "after the greeting; smtp-sink is the baseline):")
        lines.append("")
        lines.append("| connections | bytes each |")
        lines.append("|---|---:|")
        lines.append(f"| smtp-sink, plaintext ({ss['smtp_sink_connections']} connections, its "
                     f"most) | {ss['smtp_sink_bytes']:.0f} |")
        lines.append(f"| sluiced, plaintext | {ss['plain_bytes']:.0f} |")
        lines.append(f"| sluiced, implicit TLS (after the handshake) | {ss['tls_bytes']:.0f} |")
    lm = result.get("large")
    if lm:
        lines.append("")
        lines.append("resident memory with N sessions each sending a 10 MB message at once "
                     "(max_message_memory none: every message held whole; (baseline build): "
                     "the --baseline-sluiced build as it was):")
        lines.append("")
        lines.append("| sessions | max_message_memory | peak RSS MiB | taken | refused (452) |")
        lines.append("|---:|---|---:|---:|---:|")
        for r in lm:
            lines.append(f"| {r['sessions']} | {r['budget']} | {r['peak_rss_mib']} | "
                         f"{r['taken']} | {r['refused']} |")
    d = result.get("dkim")
    if d:
        lines.append("")
        lines.append(f"DKIM signatures per second, {d['threads']} threads (median of "
                     f"{len(d['runs'])} runs, alternating):")
        lines.append("")
        lines.append("| algorithm | sluice (whole signing path) | openssl speed (sign only) | of openssl |")
        lines.append("|---|---:|---:|---:|")
        for alg in ("rsa2048", "ed25519"):
            a = d[alg]
            lines.append(f"| {alg} | {a['sluice_per_s']:.0f} | {a['openssl_per_s']:.0f} | "
                         f"{a['of_openssl']:.0%} |")
    md = result.get("domains")
    if md:
        lines.append("")
        lines.append("many destinations: 1 KB messages round-robin over N recipient domains "
                     "(MX from a local DNS; Postfix through a transport map), ratios to the "
                     "same system's single-domain case:")
        lines.append("")
        lines.append("| domains | hosts | system | msg/s | x 1 domain | CPU s/1000 msgs | x 1 domain "
                     "| receivers' CPU s/1000 | p99 accept->deliver ms | delivered |")
        lines.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in md:
            lines.append(f"| {r['domains']} | {r['hosts']} | {r['system']} | {r['msgs_per_s']:.0f} | "
                         f"{r['throughput_vs_1_domain']:.2f} | {r['cpu_s_per_1000']} | "
                         f"{r['cpu_vs_1_domain']:.2f} | {r['receivers_cpu_s_per_1000']} | "
                         f"{r.get('p99_ms') or ''} | "
                         f"{r['delivered']}/{r['messages']} |")
    hi = result.get("http")
    if hi:
        lines.append("")
        lines.append("injection over HTTP (1 KB messages built from parts, N recipients a request) "
                     "beside SMTP (smtp-source), same build, same sink:")
        lines.append("")
        lines.append("| via | clients | recipients a request | msg/s | CPU s/1000 msgs | delivered |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for r in hi:
            lines.append(f"| {r['via']} | {r['clients']} | {r['batch']} | {r['msgs_per_s']:.0f} | "
                         f"{r['cpu_s_per_1000']} | {r['delivered']}/{r['messages']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
