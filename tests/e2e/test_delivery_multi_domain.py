"""One message, recipients in several domains, different fates.

RFC 5321 §3.3 / §4.5.4 / §6.1: the message is delivered per destination (per
MX), each recipient gets its own outcome, and the sender's copy is only
discarded once every recipient has a final one (delivered or failed).
"""

from mx import body, inject, outcomes, wait_outcomes, wait_until


def test_one_domain_delivers_one_bounces(mx_lab, delivering_sluiced):
    good = mx_lab.sink("good")
    bad = mx_lab.sink("bad", reject_rcpts=True)
    origin = mx_lab.sink("origin")  # the sender's domain, should a report be sent back
    (mx_lab.dns
     .mx("good.example", "mx.good.example", 10).a("mx.good.example", good.address)
     .mx("bad.example", "mx.bad.example", 10).a("mx.bad.example", bad.address)
     .mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address))
    s = delivering_sluiced()

    rcpts = ["a@good.example", "x@bad.example", "b@good.example"]
    qid = inject(s, "sender@src.example", rcpts, body("multi-1"))

    evs = wait_outcomes(s, lambda ev: len(ev) >= 3, 20, mid=qid)
    assert len(evs) == 3, evs
    by_rcpt = {e["recipient"]: e for e in evs}
    assert set(by_rcpt) == set(rcpts), evs
    for r in ("a@good.example", "b@good.example"):
        e = by_rcpt[r]
        assert (e["type"], e["queue"], e["mx_host"], e["mx_ip"], e["response"]["code"]) == \
            ("Delivery", "good.example", "mx.good.example", good.address, 250), e
    e = by_rcpt["x@bad.example"]
    assert (e["type"], e["queue"], e["mx_host"], e["mx_ip"]) == \
        ("Bounce", "bad.example", "mx.bad.example", bad.address), e
    assert (e["response"]["code"], e["response"]["enhanced"]) == (550, "5.1.1"), e

    # The good domain got one copy for both of its recipients, the bad one none.
    [msg] = good.wait_messages(1, timeout=5)
    assert sorted(msg.rcpt_tos) == ["a@good.example", "b@good.example"]
    assert bad.snapshot()["messages"] == 0
    # The Received: field names no single recipient ("for" only with one, §4.4).
    assert "\tfor <" not in msg.content.decode().split("\r\n\r\n")[0]

    wait_until(lambda: qid not in [m[0] for m in s.spool_ls()], 10, interval=0.1,
               what="the message to leave the spool")
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert len(outcomes(s, qid)) == 3


def test_spool_keeps_the_message_while_one_domain_is_deferred(mx_lab, delivering_sluiced):
    """One domain delivered, the other deferred: the message stays until the
    deferred recipient is delivered on retry, and the delivered one is not sent again."""
    good = mx_lab.sink("good")
    slow = mx_lab.sink("slow", defer_first=1)
    (mx_lab.dns
     .mx("good.example", "mx.good.example", 10).a("mx.good.example", good.address)
     .mx("slow.example", "mx.slow.example", 10).a("mx.slow.example", slow.address))
    s = delivering_sluiced(queue={"first_retry": "2s", "backoff_factor": 1.0, "jitter": 0.0})

    qid = inject(s, "sender@src.example", ["a@good.example", "z@slow.example"], body("multi-2"))

    evs = wait_outcomes(s, lambda ev: {e["type"] for e in ev} >= {"Delivery", "TransientFailure"},
                        15, mid=qid)
    assert [m[0] for m in s.spool_ls()] == [qid], "left the spool with a recipient pending"
    evs = wait_outcomes(s, lambda ev: sum(e["type"] == "Delivery" for e in ev) >= 2, 15, mid=qid)
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    evs = outcomes(s, qid)
    kinds = sorted((e["recipient"], e["type"], e["attempt"]) for e in evs)
    assert kinds == [("a@good.example", "Delivery", 1),
                     ("z@slow.example", "Delivery", 2),
                     ("z@slow.example", "TransientFailure", 1)], evs
    assert good.snapshot()["transactions"] == 1
    assert [m.rcpt_tos for m in slow.messages] == [["z@slow.example"]]
