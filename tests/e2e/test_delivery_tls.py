"""STARTTLS on the way out.

RFC 3207 §4 / §4.2: a client that sees STARTTLS in the EHLO reply may start
TLS; after the handshake it must discard what it knew and issue EHLO again.
RFC 7435 (opportunistic security): with tls = "opportunistic" an
unauthenticated (here self-signed) certificate is still used for encryption.
RFC 3207 §4.1 / RFC 8689-style policy: with tls = "required", a server that
does not offer STARTTLS must not get the message in cleartext (4xx, retry).
"""

import re

from mx import body, inject, server_tls_context, wait_outcomes, wait_until


def test_opportunistic_tls_to_a_self_signed_mx(mx_lab, delivering_sluiced, make_cert):
    cert, key = make_cert("mx1", cn="mx1.dest.example")
    sink = mx_lab.sink("mx1", tls_context=server_tls_context(cert, key))
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"tls": "opportunistic"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("tls-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.tls, "the message went over the plaintext channel"
    assert msg.helo == "mx.test"  # EHLO again after the handshake
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert (ev["type"], ev["mx_host"], ev["attempt"]) == ("Delivery", "mx1.dest.example", 1), ev
    assert ev["tls"] is not None, ev
    assert re.fullmatch(r"TLSv1\.[23]", ev["tls"]["version"]), ev["tls"]
    assert ev["tls"]["cipher"], ev["tls"]
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_tls_disabled_stays_in_cleartext(mx_lab, delivering_sluiced, make_cert):
    cert, key = make_cert("mx1", cn="mx1.dest.example")
    sink = mx_lab.sink("mx1", tls_context=server_tls_context(cert, key))
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"tls": "disabled"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("notls-1"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert not msg.tls
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery" and ev["tls"] is None, ev


def test_required_tls_without_starttls_is_not_sent_in_cleartext(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")  # no STARTTLS offered
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"tls": "required"}, queue={"first_retry": "30s"})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("reqtls-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "TransientFailure", ev
    assert 400 <= ev["response"]["code"] < 500, ev
    snap = sink.snapshot()
    assert snap["connections"] >= 1, snap  # it did connect and look
    assert snap["transactions"] == 0, f"MAIL sent without TLS: {snap}"
    assert [m[0] for m in s.spool_ls()] == [qid]
