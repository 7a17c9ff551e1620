"""A receiving server that stops answering does not hold a connection forever.

RFC 5321 §4.5.3.2: the client times out each phase (greeting and commands,
the reply after the final dot) and treats the timeout as a temporary failure;
§4.5.4.1 the message is retried later. Sluice's watchdog moves its deadline
lazily (runtime::Deadline), so these tests prove the deadline still fires.
"""

from mx import body, inject, wait_outcomes, wait_until


def test_silent_greeting_times_out_and_defers(mx_lab, delivering_sluiced):
    silent = mx_lab.silent()
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", silent.address)
    s = delivering_sluiced(delivery={"command_timeout": "1s"}, queue={"first_retry": "1h"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("silent-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "TransientFailure", ev
    assert ev["response"]["code"] // 100 == 4, ev
    wait_until(lambda: silent.held, 10, what="sluice to hang up on the silent server")
    assert 0.8 <= silent.held[0] <= 5, silent.held
    assert qid in [m[0] for m in s.spool_ls()]


def test_no_reply_after_the_dot_times_out_then_retries(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1", data_delay=4.0)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"data_timeout": "1s"},
                           queue={"first_retry": "2s", "backoff_factor": 1.0})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("stall-1"))

    [first] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert first["type"] == "TransientFailure", first
    assert first["duration_ms"] < 3500, first  # gave up at ~1 s, not after the 4 s stall
    sink.data_delay = 0.0
    evs = wait_outcomes(s, lambda ev: any(e["type"] == "Delivery" for e in ev), 20, mid=qid)
    assert evs[-1]["type"] == "Delivery" and evs[-1]["attempt"] >= 2, evs
