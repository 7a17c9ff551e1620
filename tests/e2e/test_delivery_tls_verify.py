"""Verified TLS on the way out: tls = "verify".

RFC 6125 §6 / RFC 5280: the server's certificate must chain to a trusted CA
([delivery] ca_file here, the system's store by default) and name the MX host.
A server that cannot show one gets no mail: the attempt is deferred with 4.7.5
(RFC 3463 §3.8) and nothing goes over the channel after the handshake.
"""

import pytest

from mx import body, inject, server_tls_context, wait_outcomes, wait_until
from pki import self_signed

MX = "mx1.dest.example"


def start(mx_lab, delivering_sluiced, test_ca, leaf):
    ctx = server_tls_context(leaf.chain, leaf.key)
    sink = mx_lab.sink("mx1", tls_context=ctx)
    mx_lab.dns.mx("dest.example", MX, 10).a(MX, sink.address)
    s = delivering_sluiced(delivery={"tls": "verify", "ca_file": str(test_ca.cert)},
                           queue={"first_retry": "30s"})
    return sink, s


def test_verify_delivers_to_a_certificate_for_the_mx_name(mx_lab, delivering_sluiced, test_ca):
    sink, s = start(mx_lab, delivering_sluiced, test_ca, test_ca.leaf(MX))

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("verify-ok"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.tls
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery", ev
    assert ev["tls_policy"] == "verify", ev
    assert ev["tls"]["authenticated"] is True, ev


@pytest.mark.parametrize("kind,reason", [
    ("expired", "expired"),
    ("wrong-name", "mismatch"),
    ("self-signed", "self-signed"),
])
def test_verify_refuses_a_bad_certificate(mx_lab, delivering_sluiced, test_ca, tmp_path, kind,
                                          reason):
    leaf = {
        "expired": lambda: test_ca.leaf(MX, expired=True),
        "wrong-name": lambda: test_ca.leaf("other.example"),
        "self-signed": lambda: self_signed(tmp_path, MX),
    }[kind]()
    sink, s = start(mx_lab, delivering_sluiced, test_ca, leaf)

    qid = inject(s, "sender@src.example", ["a@dest.example"], body(f"verify-{kind}"))

    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=qid)
    assert ev["type"] == "TransientFailure", ev
    assert (ev["response"]["code"], ev["response"]["enhanced"]) == (451, "4.7.5"), ev
    assert reason in ev["response"]["text"], ev
    assert ev["tls_policy"] == "verify", ev
    snap = sink.snapshot()
    assert snap["connections"] >= 1, snap  # it did connect and look
    assert snap["transactions"] == 0, f"mail went to an unauthenticated server: {snap}"
    assert [m[0] for m in s.spool_ls()] == [qid]


def test_opportunistic_reports_an_unauthenticated_session(mx_lab, delivering_sluiced, test_ca,
                                                          tmp_path):
    leaf = self_signed(tmp_path, MX)
    sink = mx_lab.sink("mx1", tls_context=server_tls_context(leaf.chain, leaf.key))
    mx_lab.dns.mx("dest.example", MX, 10).a(MX, sink.address)
    s = delivering_sluiced(delivery={"tls": "opportunistic", "ca_file": str(test_ca.cert)})

    qid = inject(s, "sender@src.example", ["a@dest.example"], body("opp-self"))

    sink.wait_messages(1, timeout=20)
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "opportunistic", ev
    assert ev["tls"]["authenticated"] is False, ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
