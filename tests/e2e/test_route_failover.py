"""A configured route: its hosts are tried in the order given.

A `[[route]]` names the next hops for a domain instead of its MX records.
As with MX hosts (RFC 5321 §5.1), when the first host cannot take the mail
in an attempt (it refuses service at the greeting, §3.1/§3.8, or nothing
listens), the next one is tried in the same attempt; the mail is delivered,
not deferred.
"""

from mx import body, inject, wait_outcomes, wait_until


def _route_to(*hosts):
    return {"route": [{"domain": "routed.example", "hosts": list(hosts)}]}


def test_route_first_host_refuses_second_accepts(mx_lab, delivering_sluiced):
    refuser = mx_lab.refusing("554 5.3.2 not taking mail here")
    sink = mx_lab.sink("second")
    first = f"[{refuser.address}]:{mx_lab.port}"
    second = f"[{sink.address}]:{mx_lab.port}"
    # No MX records for routed.example: only the route can get mail there.
    s = delivering_sluiced(config=_route_to(first, second))

    qid = inject(s, "sender@src.example", ["a@routed.example"], body("routed-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["a@routed.example"]
    assert refuser.connections >= 1  # the first host was tried first
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert (ev["type"], ev["attempt"], ev["mx_ip"]) == ("Delivery", 1, sink.address), ev
    assert ev["site"] == f"route:{first},{second}", ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_route_first_host_down_second_accepts(mx_lab, delivering_sluiced):
    dead = mx_lab.dead_address()
    sink = mx_lab.sink("second")
    s = delivering_sluiced(config=_route_to(f"[{dead}]:{mx_lab.port}",
                                            f"[{sink.address}]:{mx_lab.port}"))

    qids = [inject(s, "sender@src.example", [f"u{i}@routed.example"], body(f"routed-{i}"))
            for i in range(3)]

    sink.wait_messages(3, timeout=20)
    evs = wait_outcomes(s, lambda ev: len(ev) >= 3, 10)
    assert sorted(e["id"] for e in evs) == sorted(qids)
    assert {(e["type"], e["attempt"], e["mx_ip"]) for e in evs} == {("Delivery", 1, sink.address)}
