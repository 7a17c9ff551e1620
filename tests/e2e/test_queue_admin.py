"""Operator controls over the admin socket: `sluice queue summary|flush|suspend|
resume|bounce`, against real deliveries (dnsmasq + aiosmtpd MX servers).

What a PowerMTA or KumoMTA operator relies on: a suspended domain keeps its
mail queued and untouched until resumed; flush retries deferred mail now
instead of at its scheduled time; an administrative bounce gives up on queued
recipients (AdminBounce events, no report to the sender) and the message
leaves the spool; the summary shows what waits where.
"""

import json

from mx import body, inject, outcomes, stays_true, wait_outcomes, wait_until


def _queue(s, *args):
    p = s.cli("queue", *args, "--json", check=False)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def _lab(mx_lab, **script):
    sink = mx_lab.sink("mx1", **script)
    origin = mx_lab.sink("origin")
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("other.example", "mx1.dest.example", 10)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    return sink, origin


def test_suspend_holds_mail_until_resume(mx_lab, delivering_sluiced):
    sink, _ = _lab(mx_lab)
    s = delivering_sluiced()
    assert _queue(s, "suspend", "dest.example") == {"suspended": "dest.example", "for": None,
                                                    "held": 0}

    held = [inject(s, "sender@src.example", ["a@dest.example"], body(f"held-{i}"))
            for i in range(3)]
    other = inject(s, "sender@src.example", ["b@other.example"], body("not-held"))

    [msg] = sink.wait_messages(1, timeout=20)  # the other domain is not suspended
    assert msg.rcpt_tos == ["b@other.example"]
    wait_until(lambda: not any(q["queue"] == "other.example"
                               for q in _queue(s, "summary")["queues"]), 10)
    stays_true(lambda: sink.snapshot()["transactions"] == 1, 1.0,
               why="the held mail goes to the same MX as the other domain's, which went at once")
    summary = _queue(s, "summary")
    [q] = [q for q in summary["queues"] if q["queue"] == "dest.example"]
    assert q["messages"] == 3 and q["suspended"] is True, summary
    assert q["oldest"] and q["next_due"]
    assert set(held) <= {m[0] for m in s.spool_ls()}
    assert not outcomes(s, other) or outcomes(s, other)[0]["type"] == "Delivery"

    assert _queue(s, "resume", "dest.example") == {"resumed": "dest.example", "released": 3}
    sink.wait_messages(4, timeout=20)
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert _queue(s, "summary")["queues"] == []


def test_flush_retries_deferred_mail_now(mx_lab, delivering_sluiced):
    sink, _ = _lab(mx_lab, defer_first=1)
    s = delivering_sluiced(queue={"first_retry": "1h"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("flush-1"))
    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "TransientFailure"
    [q] = _queue(s, "summary")["queues"]
    assert q["queue"] == "dest.example" and q["messages"] == 1

    assert _queue(s, "flush", "nowhere.example") == {"flushed": 0}
    assert _queue(s, "flush", "dest.example") == {"flushed": 1}
    sink.wait_messages(1, timeout=15)
    evs = wait_outcomes(s, lambda ev: len(ev) >= 2, 10, mid=qid)
    assert [e["type"] for e in evs] == ["TransientFailure", "Delivery"]
    assert evs[1]["attempt"] == 2


def test_bounce_by_domain_and_by_id(mx_lab, delivering_sluiced):
    sink, origin = _lab(mx_lab, defer_all=True)
    s = delivering_sluiced(queue={"first_retry": "1h"})

    by_domain = [inject(s, "sender@src.example", ["a@dest.example"], body(f"bd-{i}"))
                 for i in range(2)]
    by_id = inject(s, "sender@src.example", ["b@other.example", "c@other.example"], body("bi"))
    wait_outcomes(s, lambda ev: len(ev) >= 4, 15)  # each tried once and deferred

    assert _queue(s, "bounce", "dest.example") == {"bounced": 2}
    assert _queue(s, "bounce", by_id) == {"bounced": 2}
    assert _queue(s, "bounce", "dest.example") == {"bounced": 0}

    admin = [e for e in s.events() if e["type"] == "AdminBounce"]
    assert sorted((e["id"], e["recipient"]) for e in admin) == sorted(
        [(by_domain[0], "a@dest.example"), (by_domain[1], "a@dest.example"),
         (by_id, "b@other.example"), (by_id, "c@other.example")])
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert _queue(s, "summary")["queues"] == []
    # No report for an operator's decision.
    stays_true(lambda: origin.snapshot()["messages"] == 0 and " report " not in s.output(), 1.0,
               why="a report would be asked for in the step that records the AdminBounce")


def test_unknown_commands_are_refused(mx_lab, delivering_sluiced):
    _lab(mx_lab)
    s = delivering_sluiced()
    p = s.cli("queue", "explode", check=False)
    assert p.returncode != 0
    assert "usage: queue summary" in p.stdout + p.stderr


def test_cli_prints_tables_and_json_on_request(mx_lab, delivering_sluiced):
    _lab(mx_lab)
    s = delivering_sluiced()
    s.cli("queue", "suspend", "dest.example")
    qid = inject(s, "sender@src.example", ["a@dest.example"], body("table-1"))
    wait_until(lambda: _queue(s, "summary")["queues"], 10, what="the queue in the summary")

    table = s.cli("queue", "summary").stdout
    lines = table.splitlines()
    assert lines[0].split() == ["QUEUE", "MESSAGES", "OLDEST", "NEXT", "DUE", "SUSPENDED"], table
    assert lines[1].split()[:2] == ["dest.example", "1"] and lines[1].split()[-1] == "yes", table
    assert "Suspended by the operator:" in table and "dest.example" in table.split("operator:")[1]
    assert s.cli("queue", "resume", "dest.example").stdout == \
        "resumed dest.example: 1 messages released\n"
    summary = json.loads(s.cli("queue", "summary", "--json").stdout)
    assert set(summary) == {"queues", "sites", "operator_suspensions", "suspensions"}
    bad = s.cli("queue", "suspend", "dest.example", "soon", check=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("sluice: not a duration"), bad.stderr
    wait_outcomes(s, lambda ev: ev, 15, mid=qid)


def test_numeric_arguments_get_a_clear_error(sluiced):
    for value in ("x", "-1", "10x", ""):
        p = sluiced.cli("spool", "ls", "--limit", value, check=False)
        assert p.returncode == 2, (value, p)
        assert "--limit wants a whole number" in p.stderr, (value, p.stderr)
    assert sluiced.cli("spool", "ls", "--limit", "0").stdout == ""
