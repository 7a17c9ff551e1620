"""REQUIRETLS (RFC 8689).

* §4.1: the server offers REQUIRETLS only over TLS, and refuses the MAIL
  parameter on a cleartext session (530 5.7.10).
* §4.2: a message that asks for it goes only over TLS authenticated by DANE
  (or MTA-STS) to a server that offers REQUIRETLS, and the parameter goes
  on with it; otherwise it is not delivered: 550 5.7.30, bounced.
* §5: a message with "TLS-Required: No" sets the receiver's policies aside:
  it goes where a DANE mismatch holds other mail back.
"""

from mx import body, inject, stuff, wait_outcomes
from pki import self_signed, sha256_hex
from smtp_client import connect


def inject_requiretls(s, rcpt, tag):
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("STARTTLS", 220)
        c.starttls()
        r = c.ehlo()
        assert "REQUIRETLS" in r.text, r
        content = f"From: <sender@src.example>\r\nSubject: {tag}\r\nMessage-ID: <{tag}@t>\r\n\r\nx\r\n"
        r = c.send_message("sender@src.example", [rcpt], stuff(content), " REQUIRETLS")
        assert r.code == 250, r
        qid = r.queued_id()
        c.cmd("QUIT")
    return qid


def test_requiretls_is_offered_and_taken_only_over_tls(sluiced):
    with connect(sluiced.port("relay")) as c:
        r = c.ehlo()
        assert "REQUIRETLS" not in r.text, r
        r = c.cmd("MAIL FROM:<a@src.example> REQUIRETLS")
        assert (r.code, r.enhanced) == (530, "5.7.10"), r
        c.expect("STARTTLS", 220)
        c.starttls()
        r = c.ehlo()
        assert "REQUIRETLS" in r.text, r
        r = c.cmd("MAIL FROM:<a@src.example> REQUIRETLS")
        assert r.code == 250, r


def test_requiretls_end_to_end(mx_lab, signed_dns, sluiced_factory, tmp_path):
    # dane.test: DANE-authenticated and offers REQUIRETLS: delivered, with it.
    leaf = self_signed(tmp_path, "mx.dane.test")
    good = mx_lab.sink("good", tls_context=_ctx(leaf), requiretls=True)
    # noreq.test: DANE-authenticated, no REQUIRETLS: 5.7.30.
    leaf2 = self_signed(tmp_path, "mx.noreq.test")
    noreq = mx_lab.sink("noreq", tls_context=_ctx(leaf2))
    # plain.test: unsigned zone, only opportunistic TLS: 5.7.30.
    plain = mx_lab.sink("plain", tls_context=_ctx(self_signed(tmp_path, "mx.plain.test")),
                        requiretls=True)
    for zone, sink, lf, signed in (("dane.test", good, leaf, True),
                                   ("noreq.test", noreq, leaf2, True),
                                   ("plain.test", plain, None, False)):
        signed_dns.zone(zone, signed=signed)
        signed_dns.record(zone, "@ IN MX 10 mx").record(zone, f"mx IN A {sink.address}")
        if lf is not None:
            signed_dns.record(zone, f"_{mx_lab.port}._tcp.mx IN TLSA 3 1 1 "
                                    f"{sha256_hex(lf.spki_der())}")
    signed_dns.start()
    cfg = mx_lab.config(None, None, forwarder=signed_dns.forwarder)
    cfg["dns"]["trust_anchors"] = [str(signed_dns.trust_anchor_file)]
    s = sluiced_factory(config=cfg)

    ok = inject_requiretls(s, "a@dane.test", "req-ok")
    refused = [inject_requiretls(s, f"a@{d}", f"req-{d}") for d in ("noreq.test", "plain.test")]

    [msg] = good.wait_messages(1, timeout=20)
    assert "REQUIRETLS" in msg.mail_options, msg.mail_options
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=ok)
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "dane", ev
    for qid in refused:
        [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=qid)
        assert ev["type"] == "Bounce", ev
        assert (ev["response"]["code"], ev["response"]["enhanced"]) == (550, "5.7.30"), ev
    assert noreq.snapshot()["transactions"] == 0
    assert plain.snapshot()["transactions"] == 0


def _ctx(leaf):
    from mx import server_tls_context
    return server_tls_context(leaf.chain, leaf.key)


def test_tls_required_no_sets_receiver_policies_aside(mx_lab, signed_dns, sluiced_factory,
                                                      tmp_path):
    leaf = self_signed(tmp_path, "mx.pinned.test")
    sink = mx_lab.sink("pinned", tls_context=_ctx(leaf))
    signed_dns.zone("pinned.test")
    signed_dns.record("pinned.test", "@ IN MX 10 mx")
    signed_dns.record("pinned.test", f"mx IN A {sink.address}")
    # The server's key matches no record: DANE holds normal mail back.
    signed_dns.record("pinned.test", f"_{mx_lab.port}._tcp.mx IN TLSA 3 1 1 {'00' * 32}")
    signed_dns.start()
    cfg = mx_lab.config(None, {"first_retry": "30s"}, forwarder=signed_dns.forwarder)
    cfg["dns"]["trust_anchors"] = [str(signed_dns.trust_anchor_file)]
    s = sluiced_factory(config=cfg)

    held = inject(s, "sender@src.example", ["a@pinned.test"], body("held"))
    free = inject(s, "sender@src.example", ["b@pinned.test"],
                  body("free", extra_headers="TLS-Required: No\r\n"))

    [msg] = sink.wait_messages(1, timeout=20)
    assert msg.tls  # TLS is still used
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=free)
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "tls-required-no", ev
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=held)
    assert ev["type"] == "TransientFailure" and ev["tls_policy"] == "dane", ev
