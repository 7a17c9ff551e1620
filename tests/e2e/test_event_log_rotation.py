"""The event log rotates itself: at its size, into complete JSON lines,
compressed (zstd, RFC 8878) and pruned to the newest `log_keep` files; and
SIGHUP reopens it for an operator's logrotate."""

import json
import os
import subprocess

from mx import wait_until
from smtp_client import connect


def rotated(s):
    """The rotated files, in the order their names sort (which is time order)."""
    return sorted(p for p in s.tmp.iterdir() if p.name.startswith("events.jsonl.")
                  and not p.name.endswith(".tmp"))


def lines_of(path):
    if path.name.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True,
                              timeout=30).stdout
    else:
        data = path.read_bytes()
    text = data.decode("utf-8")
    assert text.endswith("\n"), f"{path.name} ends in a torn line"
    return [json.loads(line) for line in text.splitlines()]


def send(s, n):
    ids = []
    with connect(s.port("relay")) as c:
        c.ehlo()
        for i in range(n):
            r = c.send_message("a@src.example", ["b@dest.example"], f"Subject: r{i}\r\n\r\nhi\r\n")
            assert r.code == 250, r
            ids.append(r.queued_id())
        c.cmd("QUIT")
    return ids


def test_rotates_at_its_size_into_whole_compressed_files(sluiced_factory):
    s = sluiced_factory(config={"events": {"log_max_size": "4KiB", "log_keep": 0,
                                           "log_compress": True}})
    ids = send(s, 40)  # a Reception record is some 500 octets: several files
    files = wait_until(lambda: (lambda f: f if len(f) >= 3 and all(
        p.name.endswith(".zst") for p in f) else None)(rotated(s)), 15, interval=0.05,
        what="three compressed rotated files")
    records = [r for p in files for r in lines_of(p)]
    records += lines_of(s.tmp / "events.jsonl")
    # Every record once, whole, in order, across the files.
    assert [r["id"] for r in records if r["type"] == "Reception"] == ids
    for p in files:  # each a whole zstd frame with its checksum
        subprocess.run(["zstd", "-tq", str(p)], check=True, capture_output=True, timeout=30)
    assert os.path.getsize(s.tmp / "events.jsonl") <= 4096


def test_keeps_the_newest_files(sluiced_factory):
    s = sluiced_factory(config={"events": {"log_max_size": "4KiB", "log_keep": 2,
                                           "log_compress": False}})
    ids = send(s, 60)
    files = wait_until(lambda: (lambda f: f if len(f) == 2 else None)(rotated(s)), 15,
                       interval=0.05, what="two kept files")
    records = [r for p in files for r in lines_of(p)] + lines_of(s.tmp / "events.jsonl")
    got = [r["id"] for r in records if r["type"] == "Reception"]
    # The newest ones, in order; the oldest files are gone.
    assert got == ids[-len(got):] and len(got) < len(ids)


def test_sighup_reopens_after_an_external_rename(sluiced_factory):
    s = sluiced_factory()
    first = send(s, 2)
    wait_until(lambda: len(s.events()) >= 2, 10, what="two records")
    os.rename(s.tmp / "events.jsonl", s.tmp / "events.jsonl.old")
    s.reload()  # SIGHUP
    wait_until(lambda: (s.tmp / "events.jsonl").exists(), 10, what="a new event log")
    second = send(s, 2)
    wait_until(lambda: len(s.events()) >= 2, 10, what="records in the new file")
    assert [r["id"] for r in s.events() if r["type"] == "Reception"] == second
    old = [json.loads(line) for line in (s.tmp / "events.jsonl.old").read_text().splitlines()]
    assert [r["id"] for r in old if r["type"] == "Reception"] == first


def test_a_log_below_its_floor_drops_records_and_mail_flows(sluiced_factory):
    s = sluiced_factory(config={"events": {"log_min_free_disk": "1048576GiB"}})
    ids = send(s, 3)
    assert len(ids) == 3 and s.spool_count() == 3
    st = wait_until(lambda: (lambda j: j if j["failed"] >= 3 else None)(
        json.loads(s.cli("events", "status", "--json").stdout)), 10, interval=0.05,
        what="the dropped records counted")
    assert st["written"] == 0
