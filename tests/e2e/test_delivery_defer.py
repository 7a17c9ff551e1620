"""A 4xx answer defers the message; it is retried later and then delivered.

RFC 5321 §4.2.1 / §4.5.4.1: a 4yz reply is a transient failure; the sender
keeps the message queued and retries after a delay, with increasing
intervals (§4.5.4.1 recommends a back-off), until it is delivered or too old.
Retry settings here: first_retry, backoff_factor, jitter 0.
"""

from mx import body, inject, wait_outcomes, wait_until


def test_451_then_accept_on_retry(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1", defer_first=1)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(queue={"first_retry": "1s", "backoff_factor": 1.0, "jitter": 0.0})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("defer-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["a@dest.example"]
    evs = wait_outcomes(s, lambda ev: any(e["type"] == "Delivery" for e in ev), 10, mid=qid)
    assert [e["type"] for e in evs] == ["TransientFailure", "Delivery"], evs
    tf, dl = evs
    assert tf["attempt"] == 1 and dl["attempt"] == 2, evs
    assert tf["response"]["code"] == 451
    assert tf["response"]["enhanced"] == "4.3.0"
    assert "try again later" in tf["response"]["text"]
    # 4.3.0 "Temporary failure, try again later" says nothing more: soft, other.
    assert tf["bounce"] == {"class": "other", "hard": False, "rule": None}, tf
    assert "bounce" not in dl, dl
    assert (tf["mx_host"], tf["mx_ip"]) == ("mx1.dest.example", sink.address)
    assert dl["response"]["code"] == 250
    # The retry waited for first_retry (1 s, no jitter) after the failure.
    first, second = sink.transaction_times
    assert 0.9 <= second - first < 4.0, sink.transaction_times
    assert sink.snapshot()["data_transactions"] == 2
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_retry_intervals_back_off(mx_lab, delivering_sluiced):
    """Three deferrals with first_retry 0.4 s and factor 2: waits of ~0.4, 0.8, 1.6 s."""
    sink = mx_lab.sink("mx1", defer_first=3,
                       defer_reply="421 4.7.0 Too busy, come back later")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(queue={"first_retry": "400ms", "backoff_factor": 2.0, "jitter": 0.0,
                                  "max_retry_interval": "10s"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("backoff-1"))

    sink.wait_messages(1, timeout=20)
    evs = wait_outcomes(s, lambda ev: any(e["type"] == "Delivery" for e in ev), 10, mid=qid)
    assert [e["type"] for e in evs] == ["TransientFailure"] * 3 + ["Delivery"], evs
    assert [e["attempt"] for e in evs] == [1, 2, 3, 4]
    assert all(e["response"]["code"] == 421 for e in evs[:3])
    t = sink.transaction_times
    assert len(t) == 4, t
    gaps = [b - a for a, b in zip(t, t[1:])]
    for gap, want in zip(gaps, [0.4, 0.8, 1.6]):
        assert want * 0.9 <= gap < want + 1.5, (gaps, "expected about 0.4, 0.8, 1.6 s")
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
