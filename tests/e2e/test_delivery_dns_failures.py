"""Domains that do not accept mail, decided from DNS alone.

RFC 7505 §3 / §4.2: a "null MX" (a single MX record, preference 0, exchange
".") says the domain accepts no mail; a sender must not attempt delivery (not
even to the domain's A record) and fails the message with 556 / 5.1.10
(RFC 7505 §4.2, RFC 3463 X.1.10). RFC 5321 §5.1: a domain that does not exist
(NXDOMAIN), or has neither MX nor address records, cannot receive mail: a
permanent failure, 5.1.2 (RFC 3463: bad destination system address). A DNS
server failure (SERVFAIL) is temporary: queue and retry (§5.1, §4.5.4.1).
"""

from mx import ServfailDns, body, inject, wait_outcomes, wait_until


def _origin(mx_lab):
    origin = mx_lab.sink("origin")  # the sender's domain, should a report be sent back
    mx_lab.dns.mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address)
    return origin


def test_null_mx_bounces_without_connecting(mx_lab, delivering_sluiced):
    trap = mx_lab.sink("trap")
    _origin(mx_lab)
    # The domain also has an address: a sender ignoring the null MX would fall
    # back to it as the implicit MX, and the trap would see the connection.
    mx_lab.dns.null_mx("nullmx.example").a("nullmx.example", trap.address)
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@nullmx.example"], body("nullmx-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert ev["type"] == "Bounce", ev
    assert ev["recipient"] == "a@nullmx.example"
    assert ev["queue"] == "nullmx.example"
    assert ev["response"]["code"] == 556
    assert ev["response"]["enhanced"] == "5.1.10"
    assert ev["mx_host"] is None and ev["mx_ip"] is None and ev["tls"] is None, ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert trap.snapshot()["connections"] == 0, trap.snapshot()


def test_nxdomain_bounces(mx_lab, delivering_sluiced):
    sinks = [mx_lab.sink("mx1"), _origin(mx_lab)]
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sinks[0].address)
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@nosuch.example"], body("nx-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert (ev["type"], ev["response"]["code"], ev["response"]["enhanced"]) == \
        ("Bounce", 550, "5.1.2"), ev
    assert "nosuch.example" in ev["response"]["text"]
    assert ev["mx_host"] is None
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert sinks[0].snapshot()["connections"] == 0


def test_domain_without_mail_host_bounces(mx_lab, delivering_sluiced):
    """The name exists (a TXT record) but has no MX, A or AAAA: 550 5.1.2."""
    _origin(mx_lab)
    mx_lab.dns.txt("nohost.example", "v=spf1 -all")
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@nohost.example"], body("nohost-1"))

    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    assert (ev["type"], ev["response"]["code"], ev["response"]["enhanced"]) == \
        ("Bounce", 550, "5.1.2"), ev
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")


def test_dns_server_failure_is_transient(mx_lab, sluiced_factory):
    """DNS answering SERVFAIL is no reason to bounce: 4xx (4.4.3), kept queued."""
    dns = ServfailDns()
    try:
        s = sluiced_factory(config=mx_lab.config(queue={"first_retry": "30s"},
                                                 forwarder=dns.forwarder))

        qid = inject(s, "sender@src.example", ["a@dest.example"], body("servfail-1"))

        [ev] = wait_outcomes(s, lambda ev: ev, 30, mid=qid)
    finally:
        dns.stop()
    assert ev["type"] == "TransientFailure", ev
    assert (ev["response"]["code"], ev["response"]["enhanced"]) == (451, "4.4.3"), ev
    assert dns.queries >= 1
    assert [m[0] for m in s.spool_ls()] == [qid]


def test_stopping_while_a_lookup_is_unanswered_frees_it(mx_lab, sluiced_factory):
    """A query the DNS never answers is still outstanding at shutdown: sluiced
    exits cleanly, and LeakSanitizer finds the waiting delivery freed."""
    import socket
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(15)
    try:
        s = sluiced_factory(config=mx_lab.config(
            forwarder=f"127.0.0.1@{silent.getsockname()[1]}"))
        inject(s, "sender@src.example", ["a@dest.example"], body("silent-1"))
        silent.recvfrom(4096)  # the MX query has gone out, and waits
        assert s.stop() == 0
        assert not s.sanitizer_reports()
    finally:
        silent.close()


def test_special_use_names_are_asked_of_the_forwarder(mx_lab, delivering_sluiced):
    # RFC 6761 §6.2 (.test), RFC 8375 (home.arpa): a resolver library asks its
    # configured server, which here holds the staging and internal zones.
    # RFC 6761 §6.4: .invalid is never looked up, even though this server has it.
    sink = mx_lab.sink("staging")
    _origin(mx_lab)
    mx_lab.dns.mx("staging.test", "mx.staging.test", 10).a("mx.staging.test", sink.address)
    mx_lab.dns.mx("corp.home.arpa", "mx.corp.home.arpa", 10).a("mx.corp.home.arpa", sink.address)
    mx_lab.dns.mx("mail.invalid", "mx.staging.test", 10)
    s = delivering_sluiced()

    qid = inject(s, "sender@src.example", ["a@staging.test", "b@corp.home.arpa", "c@mail.invalid"],
                 body("special-use-1"))

    evs = wait_outcomes(s, lambda ev: len(ev) >= 3, 20, mid=qid)
    by_rcpt = {ev["recipient"]: ev for ev in evs}
    assert by_rcpt["a@staging.test"]["type"] == "Delivery", by_rcpt
    assert by_rcpt["b@corp.home.arpa"]["type"] == "Delivery", by_rcpt
    invalid = by_rcpt["c@mail.invalid"]
    assert invalid["type"] == "Bounce" and invalid["response"]["enhanced"] == "5.1.2", invalid
    got = sorted(r for m in sink.wait_messages(2, timeout=10) for r in m.rcpt_tos)
    assert got == ["a@staging.test", "b@corp.home.arpa"]  # had sluiced asked for .invalid,
    # the server's MX record there would have sent c@ to the sink too
