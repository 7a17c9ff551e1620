"""The preferred MX is unusable: try the next one.

RFC 5321 §5.1: MX records are tried in order of preference; if a connection
to the preferred host cannot be made, or it has several addresses, the next
address / the next MX is tried in the same delivery attempt. §3.1 / §3.8: a
server greeting with 421 (or 554) refuses service; the client must try
elsewhere rather than send mail through it.
"""

from mx import body, inject, wait_outcomes, wait_until


def test_preferred_mx_down_delivers_via_the_next(mx_lab, delivering_sluiced):
    dead = mx_lab.dead_address()
    sink = mx_lab.sink("mx2")
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", dead)
     .mx("dest.example", "mx2.dest.example", 20).a("mx2.dest.example", sink.address))
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("failover-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["a@dest.example"]
    # One attempt, delivered: the dead preferred MX is not a transient failure.
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery", ev
    assert ev["mx_host"] == "mx2.dest.example"
    assert ev["mx_ip"] == sink.address
    assert ev["site"] == "mx1.dest.example,mx2.dest.example"
    assert ev["attempt"] == 1
    assert ev["response"]["code"] == 250
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_next_address_of_the_same_mx(mx_lab, delivering_sluiced):
    """One MX host with two addresses, one of them dead: the other one is used."""
    dead = mx_lab.dead_address()
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", dead, sink.address)
    s = delivering_sluiced()

    qids = [inject(s, "sender@src.example", [f"u{i}@dest.example"], body(f"addr-{i}"))
            for i in range(3)]

    sink.wait_messages(3, timeout=20)
    evs = wait_outcomes(s, lambda ev: len(ev) >= 3, 10)
    assert sorted(e["id"] for e in evs) == sorted(qids)
    for ev in evs:
        assert (ev["type"], ev["mx_host"], ev["mx_ip"], ev["attempt"]) == \
            ("Delivery", "mx1.dest.example", sink.address, 1), ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_refusing_greeting_moves_to_the_next_mx(mx_lab, delivering_sluiced):
    """MX 10 greets with 421 and hangs up: no mail through it; MX 20 gets it."""
    refuser = mx_lab.refusing("421 4.3.2 mx1 is shutting down")
    sink = mx_lab.sink("mx2")
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", refuser.address)
     .mx("dest.example", "mx2.dest.example", 20).a("mx2.dest.example", sink.address))
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("refused-1"))

    sink.wait_messages(1, timeout=20)
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert (ev["type"], ev["mx_host"], ev["attempt"]) == ("Delivery", "mx2.dest.example", 1), ev
    # The preferred MX was tried first (and only at connection set-up).
    assert refuser.connections >= 1
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_all_mx_down_is_a_transient_failure(mx_lab, delivering_sluiced):
    """No MX reachable: a 4xx TransientFailure, the message stays queued (§4.5.4.1)."""
    dead1, dead2 = mx_lab.dead_address(), mx_lab.dead_address()
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", dead1)
     .mx("dest.example", "mx2.dest.example", 20).a("mx2.dest.example", dead2))
    s = delivering_sluiced(queue={"first_retry": "30s"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("alldown-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "TransientFailure", ev
    assert ev["attempt"] == 1
    assert 400 <= ev["response"]["code"] < 500
    assert ev["response"]["enhanced"].startswith("4."), ev
    assert [m[0] for m in s.spool_ls()] == [qid]
