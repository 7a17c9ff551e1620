"""Relay control on the relay listener.

RFC 5321 §3.6.2 and §7.1 (a server should refuse to relay for unknown clients;
554/550 5.7.1, RFC 3463 "Delivery not authorized"), §4.5.1 (the bare
"postmaster" address must always be accepted, at every domain served too),
and a local domain has no other mailboxes here: 550 5.1.1 (RFC 3463 "Bad
destination mailbox address").
"""

import pytest

from smtp_client import connect


@pytest.fixture
def relay_server(sluiced_factory):
    return sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"],
                                             "local_domains": ["local.test"]}})


def test_untrusted_client_cannot_relay(relay_server):
    s = relay_server
    with connect(s.port("relay"), source="127.0.0.2") as c:
        ehlo = c.ehlo()
        assert "[127.0.0.2]" in ehlo.lines[0]
        c.expect("MAIL FROM:<someone@example.org>", 250, "2.1.0")
        r = c.cmd("RCPT TO:<victim@foreign.example>")
        assert (r.code, r.enhanced) == (554, "5.7.1"), r
        # Sluice keeps no mailboxes at the domains it serves.
        r = c.cmd("RCPT TO:<user@LOCAL.test>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r
        # Postmaster, bare or at a local domain, in any case (RFC 5321 §2.4,
        # §4.5.1): one mailbox, so it is delivered to once.
        c.expect("RCPT TO:<Postmaster>", 250, "2.1.5")
        c.expect("RCPT TO:<PostMaster@LOCAL.test>", 250, "2.1.5")
        c.expect("DATA", 354)
        c.send("Subject: in\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
    [ev] = s.wait_events(1)
    assert ev["client_ip"] == "127.0.0.2"
    assert ev["recipients"] == ["postmaster"], ev


def test_untrusted_client_only_foreign_recipient_gets_no_data(relay_server):
    s = relay_server
    with connect(s.port("relay"), source="127.0.0.2") as c:
        c.ehlo()
        c.expect("MAIL FROM:<someone@example.org>", 250)
        c.expect("RCPT TO:<victim@foreign.example>", 554, "5.7.1")
        r = c.cmd("DATA")
        assert r.code in (503, 554), r
        c.expect("QUIT", 221)
    assert s.events() == []


def test_trusted_network_may_relay(relay_server):
    s = relay_server
    with connect(s.port("relay"), source="127.0.0.1") as c:
        c.ehlo()
        c.expect("MAIL FROM:<someone@example.org>", 250)
        c.expect("RCPT TO:<friend@foreign.example>", 250, "2.1.5")
        c.expect("DATA", 354)
        c.send("Subject: out\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
    [ev] = s.wait_events(1)
    assert ev["recipients"] == ["friend@foreign.example"]
