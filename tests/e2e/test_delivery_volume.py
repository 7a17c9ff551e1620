"""1,000 messages to one domain over a small, reused pool of connections.

RFC 5321 §4.5.3.1.x does not cap transactions per connection and §3.3 lets a
client send several transactions on one connection; RFC 2920 (PIPELINING)
lets it send MAIL/RCPT/DATA as one group. Operationally (and as a courtesy
the receiver relies on) a sender keeps no more than `connection_limit`
connections open to one site at a time and reuses them rather than opening
one per message.
"""

import time

from mx import body, inject_pipelined, wait_outcomes, wait_until

N = 1000
CONNECTION_LIMIT = 2


def test_thousand_messages_two_connections(mx_lab, delivering_sluiced):
    # 2 ms per end of data: the backlog builds up, so both connections are wanted.
    sink = mx_lab.sink("mx1", data_delay=0.002)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"connection_limit": CONNECTION_LIMIT,
                                     "max_deliveries_per_connection": 100000,
                                     "idle_timeout": "3s"})

    t0 = time.monotonic()
    messages = [("sender@src.example", [f"user{i % 7}@dest.example"], body(f"bulk-{i}"))
                for i in range(N)]
    ids = inject_pipelined(s, messages, connections=4)
    t_injected = time.monotonic() - t0

    received = sink.wait_messages(N, timeout=90)
    t_delivered = time.monotonic() - t0
    tags = sorted(m.header("Subject") for m in received)
    assert tags == sorted(f"bulk-{i}" for i in range(N)), "lost or duplicated messages"
    evs = wait_outcomes(s, lambda ev: len(ev) >= N, 30)
    assert len(evs) == N, f"{len(evs)} outcome events for {N} messages"
    assert sorted(e["id"] for e in evs) == sorted(ids)
    assert {e["type"] for e in evs} == {"Delivery"}
    assert {e["attempt"] for e in evs} == {1}
    wait_until(lambda: s.spool_count() == 0, 30, interval=0.2, what="an empty spool")

    snap = sink.snapshot()
    print(f"\n{N} messages: injected in {t_injected:.1f} s, delivered after "
          f"{t_delivered:.1f} s; sink: {snap}")
    assert snap["max_active"] <= CONNECTION_LIMIT, snap
    # With a backlog of hundreds, the second allowed connection is used too.
    assert snap["max_active"] == CONNECTION_LIMIT, snap
    assert snap["transactions"] == N, snap
    # Connections are reused: a handful, not one per message.
    assert snap["connections"] <= 20, snap


def test_every_idle_connection_is_kept_for_the_next_wave(mx_lab, delivering_sluiced):
    # Two connections become idle together; each waits out idle_timeout on its
    # own, so the next wave of mail finds both open and opens none.
    sink = mx_lab.sink("mx1", data_delay=0.3)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"connection_limit": 2, "idle_timeout": "10s"})

    first = [("sender@src.example", ["a@dest.example"], body(f"wave1-{i}")) for i in range(4)]
    inject_pipelined(s, first, connections=4)
    sink.wait_messages(4, timeout=20)
    assert sink.snapshot()["connections"] == 2, sink.snapshot()
    # Both connections idle now: every transaction answered.
    wait_until(lambda: sink.snapshot()["active"] == 2 and s.spool_count() == 0, 10,
               interval=0.05, what="both connections idle")

    second = [("sender@src.example", ["b@dest.example"], body(f"wave2-{i}")) for i in range(4)]
    inject_pipelined(s, second, connections=4)
    sink.wait_messages(8, timeout=20)
    snap = sink.snapshot()
    assert snap["connections"] == 2 and snap["active"] == 2, snap
