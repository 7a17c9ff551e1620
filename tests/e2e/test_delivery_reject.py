"""A 5xx answer is final: the recipient bounces and is not retried.

RFC 5321 §4.2.1 / §4.2.5: a 5yz reply is a permanent failure; the client must
not repeat the same request; RFC 3463 §3.2 (X.1.1: bad destination mailbox).
§3.3: replies are per recipient; a transaction with some recipients refused
still delivers the message to the accepted ones. §6.1 / §4.5.5: a message
whose every recipient has a final outcome leaves the queue.
"""

from mx import body, inject, outcomes, wait_outcomes, wait_until


def _lab(mx_lab, **script):
    sink = mx_lab.sink("mx1", **script)
    origin = mx_lab.sink("origin")  # the sender's domain, should a report be sent back
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    return sink


def test_550_at_rcpt_bounces(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab, reject_rcpts={"nobody@dest.example"})
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["nobody@dest.example"], body("reject-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "Bounce", ev
    assert ev["recipient"] == "nobody@dest.example"
    assert ev["attempt"] == 1
    assert ev["response"]["code"] == 550
    assert ev["response"]["enhanced"] == "5.1.1"
    assert "<nobody@dest.example>: Recipient address rejected: User unknown" \
        in ev["response"]["text"], ev
    # Classified by the built-in rules (etc/bounce.toml): the address is bad.
    assert ev["bounce"] == {"class": "bad-mailbox", "hard": True, "rule": "bad-mailbox-wording"}, ev
    assert (ev["mx_host"], ev["mx_ip"], ev["site"]) == \
        ("mx1.dest.example", sink.address, "mx1.dest.example")
    # It leaves the spool and is never tried again.
    wait_until(lambda: qid not in [m[0] for m in s.spool_ls()], 10, interval=0.1,
               what="the bounced message to leave the spool")
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    snap = sink.snapshot()
    assert snap["messages"] == 0 and snap["transactions"] == 1, snap
    assert len(outcomes(s, qid)) == 1


def test_554_at_end_of_data_bounces(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab, data_reply="554 5.6.0 Message content rejected")
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("reject-2"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert (ev["type"], ev["response"]["code"], ev["response"]["enhanced"]) == \
        ("Bounce", 554, "5.6.0"), ev
    assert ev["response"]["text"] == "Message content rejected"
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert sink.snapshot()["data_transactions"] == 1


def test_one_recipient_refused_the_other_delivered(mx_lab, delivering_sluiced):
    sink = _lab(mx_lab, reject_rcpts={"gone@dest.example"})
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["here@dest.example", "gone@dest.example"],
                 body("reject-3"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["here@dest.example"]
    evs = wait_outcomes(s, lambda ev: len(ev) >= 2, 10, mid=qid)
    by_rcpt = {e["recipient"]: e for e in evs}
    assert len(evs) == 2 and set(by_rcpt) == {"here@dest.example", "gone@dest.example"}, evs
    assert (by_rcpt["here@dest.example"]["type"],
            by_rcpt["here@dest.example"]["response"]["code"]) == ("Delivery", 250)
    assert (by_rcpt["gone@dest.example"]["type"],
            by_rcpt["gone@dest.example"]["response"]["code"],
            by_rcpt["gone@dest.example"]["response"]["enhanced"]) == ("Bounce", 550, "5.1.1")
    # Both recipients went in one transaction (same domain, same MX).
    assert sink.snapshot()["transactions"] == 1
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
