"""The benchmark harness keeps working: `bench/run.py --quick` end to end.

A smoke run only (a few hundred messages per case, against the sanitised
build), so the harness cannot rot between benchmark runs; its numbers mean
nothing here and are not checked. What is checked is that every part ran and
that no message was lost in any relay case.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_run(tmp_path):
    out = tmp_path / "results"
    # Postfix's own processes run as user postfix: its directories must be
    # reachable, which pytest's private temporary directories are not.
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-smoke-", dir="/tmp"))
    work.chmod(0o755)
    try:
        p = subprocess.run(
            ["/usr/bin/python3", str(ROOT / "bench" / "run.py"), "--quick",
             "--sizes", "1000", "--sessions", "10",
             "--sluiced", os.environ["SLUICED"], "--sluice", os.environ["SLUICE_CLI"],
             "--dkim-bench", str(Path(os.environ["SLUICED"]).parents[2] / "bench" / "dkim_bench"),
             "--suppression-bench",
             str(Path(os.environ["SLUICED"]).parents[2] / "bench" / "suppression_bench"),
             "--stats-bench", str(Path(os.environ["SLUICED"]).parents[2] / "bench" / "stats_bench"),
             "--work", str(work), "--out", str(out)],
            capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    [path] = list(out.glob("*-quick.json"))
    result = json.loads(path.read_text())

    assert result["machine"]["cores"] >= 1 and result["machine"]["revision"]
    relay = {r["system"]: r for r in result["relay"]}
    assert set(relay) == {"ceiling", "sluice", "sluice+ed25519", "sluice+rsa2048",
                          "sluice-nohistory", "sluice-nometrics", "sluice+webhook", "postfix"}
    # Metrics on beside metrics off, in the same run.
    assert relay["sluice"]["with_metrics_of_without"] > 0
    hook = relay["sluice+webhook"]
    assert hook["webhook_events"] == hook["webhook_expected"] == 1000, hook
    for system, r in relay.items():
        assert r["complete"] and r["delivered"] == r["messages"] == 500, (system, r)
    for system in ("sluice", "sluice+ed25519", "sluice+rsa2048"):
        assert relay[system]["of_ceiling"] > 0 and relay[system]["vs_postfix"] > 0, system

    backlog = result["backlog"]
    assert backlog["messages"] == 5000, backlog
    assert backlog["recovery_first_delivery_seconds"] is not None, backlog
    assert result["latency"]["samples"] > 0
    assert "| 1 KB x10 | sluice |" in p.stdout
    stats = result["stats"]
    assert stats["events"] == 100_000 and stats["record_per_s"] > 0 and stats["map_per_s"] > 0
    assert stats["dropped"] == 0 and stats["write_ns"] > 0
    assert stats["query_day_hourly_ms"] >= 0 and stats["disk_bytes"] > 0, stats
    for alg in ("rsa2048", "ed25519"):
        assert result["dkim"][alg]["sluice_per_s"] > 0 and result["dkim"][alg]["openssl_per_s"] > 0
    assert "| ed25519 |" in p.stdout
    sessions = result["sessions"]
    assert sessions["connections"] == 100
    for key in ("plain_bytes", "tls_bytes", "smtp_sink_bytes"):
        assert isinstance(sessions[key], (int, float)), sessions  # RSS deltas: any sign
    assert "| sluiced, plaintext |" in p.stdout
    large = result["large"]
    assert [(r["sessions"], r["budget"]) for r in large] == \
        [(5, "none"), (5, "512MiB"), (20, "none"), (20, "512MiB")], large
    for r in large:
        assert r["taken"] + r["refused"] == r["sessions"] and r["peak_rss_mib"] > 0, r
    assert "| max_message_memory |" in p.stdout
    http = result["http"]
    assert [(r["via"], r["clients"], r["batch"]) for r in http] == \
        [("smtp", 10, 1), ("http", 10, 1), ("http", 10, 100),
         ("smtp", 50, 1), ("http", 50, 1), ("http", 50, 100)], http
    for r in http:
        assert r["complete"] and r["delivered"] == r["messages"] == 1000, r
    assert "| http | 10 | 100 |" in p.stdout
    sup = result["suppression"]
    assert sup["entries"] == 200_000 and sup["hits"] == sup["lookups"] == 50_000, sup
    assert sup["false_hits"] == 0 and sup["find_miss_us"] > 0 and sup["set_lookup_us"] > 0, sup
    assert "| RocksStore (32 MiB cache) |" in p.stdout


def test_revision_is_unknown_outside_a_repository(tmp_path, monkeypatch):
    # A checkout from a tarball has no .git, and a fresh machine may have no git:
    # the benchmark records "unknown" instead of failing.
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    assert run.revision() == "unknown"
    monkeypatch.setattr(run, "ROOT", ROOT)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert run.revision() == "unknown"
