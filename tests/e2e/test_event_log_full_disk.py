"""The event log on a full disk: a record is written whole or not at all,
failures are counted (`sluice events status`), mail keeps flowing, and writing
resumes by itself when space returns. A torn last line left by a crash is cut
off when the log is opened. (JSON Lines: one whole JSON text, RFC 8259, per
line.)

Needs root, for a small tmpfs of the test's own.
"""

import json

from conftest import fill
from mx import body, inject, wait_until


def records(log):
    """Every line must be a whole JSON record (a strict reader)."""
    lines = log.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == "", f"the log ends in a torn line: {lines[-1][:200]!r}"
    return [json.loads(line) for line in lines[:-1]]


def status(s):
    return json.loads(s.cli("events", "status", "--json").stdout)


def test_full_disk_loses_records_whole_and_recovers(mx_lab, tmpfs, delivering_sluiced):
    small_fs = tmpfs("64k")
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    log = small_fs / "events.jsonl"
    s = delivering_sluiced(config={"events": {"log": str(log)}})
    s.events_path = log
    inject(s, "sender@src.example", ["a@dest.example"], body("before-1"))
    wait_until(lambda: status(s)["written"] >= 1, 10, what="the first record")

    filler = small_fs / "filler"
    fill(filler)
    for i in range(20):  # mail is still taken: the spool is elsewhere
        inject(s, "sender@src.example", ["a@dest.example"], body(f"full-{i}"))
    st = status(s)
    assert st["failed"] >= 20, st  # the fault bit: records were refused by the disk
    records(log)  # no torn line

    filler.unlink()
    qid = inject(s, "sender@src.example", ["a@dest.example"], body("after-2"))
    wait_until(lambda: any(r["id"] == qid for r in records(log)), 10, what="records again")
    # Every record counted as written is in the file, whole (delivery records
    # may still be arriving: compare once the spool is empty and all is told).
    wait_until(lambda: s.spool_count() == 0, 15, interval=0.1, what="an empty spool")
    wait_until(lambda: status(s)["written"] == len(records(log)), 10,
               what="the file to hold what was counted")


def test_torn_last_line_is_cut_off_at_open(sluiced_factory, tmp_path):
    log = tmp_path / "torn.jsonl"
    log.write_bytes(b'{"type":"Reception","id":"whole"}\n{"type":"Recep')
    s = sluiced_factory(config={"events": {"log": str(log)}})
    s.events_path = log
    with s.connect() as c:
        c.ehlo()
        r = c.send_message("a@example.org", ["b@example.net"], "Subject: x\r\n\r\nbody\r\n")
        assert r.queued_id()
    wait_until(lambda: len(records(log)) == 2, 10, what="the new record after the whole one")
    first, second = records(log)
    assert first == {"type": "Reception", "id": "whole"}
    assert second["type"] == "Reception" and second["id"] == r.queued_id()
