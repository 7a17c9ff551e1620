"""Delivery of a relayed message to the destination's MX.

RFC 5321 §5.1 (locate the target host through MX records; with none, the
domain's own address is the implicit MX), §4.4 (the Received: trace field
travels with the message), §4.5.2 (transparency: dot-stuffing on the wire),
§3.3 (the envelope: MAIL FROM / RCPT TO as received), §4.2.5 (a message
leaves the queue once the next hop answered 250 to the end of data).
"""

import re

from mx import body, inject, outcomes, wait_outcomes, wait_until

TEXT = ("First line.\r\n"
        ".A line starting with a dot.\r\n"
        "..Two dots.\r\n"
        "Last line.\r\n")


def test_delivery_to_the_mx(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("basic-1", text=TEXT))

    [msg] = sink.wait_messages(1, timeout=20)
    # The envelope as sluiced received it.
    assert msg.mail_from == "sender@src.example"
    assert msg.rcpt_tos == ["a@dest.example"]
    # EHLO with sluiced's name (ehlo_name defaults to [server] hostname).
    assert msg.helo == "mx.test"
    # Our trace field first, then the message as the client sent it.
    content = msg.content.decode()
    assert content.startswith("Received: from client.test ([127.0.0.1])\r\n"
                              "\tby mx.test (Sluice) with ESMTP id " + qid), content[:300]
    assert re.search(r"\tfor <a@dest\.example>;\r\n\t\w{3}, \d{1,2} \w{3} \d{4} ", content), content
    assert content.endswith("\r\n\r\n" + TEXT), content  # dots survived stuffing and unstuffing
    assert msg.header("Message-ID") == "<basic-1@sluice.test>"
    assert not msg.tls

    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery", ev
    assert ev["sender"] == "sender@src.example"
    assert ev["recipient"] == "a@dest.example"
    assert ev["queue"] == "dest.example"
    assert ev["site"] == "mx1.dest.example"
    assert ev["mx_host"] == "mx1.dest.example"
    assert ev["mx_ip"] == sink.address
    assert ev["attempt"] == 1
    assert ev["response"]["code"] == 250
    assert ev["response"]["enhanced"] == "2.0.0"
    assert ev["response"]["text"].endswith("Ok: queued as mx1.1"), ev
    assert ev["tls"] is None
    assert ev["egress_source"] is None
    assert isinstance(ev["duration_ms"], int) and ev["duration_ms"] >= 0
    [rec] = [e for e in s.events() if e["type"] == "Reception"]
    assert rec["id"] == qid
    assert ev["received"] <= ev["timestamp"]

    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert sink.snapshot()["transactions"] == 1
    assert len(outcomes(s)) == 1


def test_implicit_mx_is_the_domain_address(mx_lab, delivering_sluiced):
    """No MX record but an A record: the domain itself is the mail host (§5.1)."""
    sink = mx_lab.sink("implicit")
    mx_lab.dns.a("plain.example", sink.address)
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["b@plain.example"], body("implicit-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["b@plain.example"]
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert (ev["type"], ev["mx_host"], ev["mx_ip"], ev["attempt"]) == \
        ("Delivery", "plain.example", sink.address, 1), ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_transaction_is_pipelined_with_size(mx_lab, delivering_sluiced):
    """RFC 2920 §3.1: with PIPELINING offered, MAIL, RCPT and DATA go out as one
    group; RFC 1870 §3/§6: with SIZE offered, MAIL carries the message size."""
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()

    inject(s, "sender@src.example", ["a@dest.example", "b@dest.example"], body("pipe-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert f"SIZE={len(msg.content)}" in msg.mail_options, (msg.mail_options, len(msg.content))
    with sink.lock:
        chunks = [c for _, c in sink.chunks]
    group = (b"MAIL FROM:<sender@src.example>", b"RCPT TO:<a@dest.example>",
             b"RCPT TO:<b@dest.example>", b"DATA\r\n")
    assert any(all(g in c for g in group) for c in chunks), \
        f"MAIL/RCPT/DATA not sent as one group: {chunks!r}"
