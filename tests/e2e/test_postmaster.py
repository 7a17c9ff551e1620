"""Mail to the domains Sluice serves, and no backscatter.

RFC 5321 §4.5.1: "postmaster", bare or at every domain served, must be
accepted (case-insensitively); it goes to [server] postmaster, delivered like
other mail with the original recipient as ORCPT (RFC 3461 §4.2), or is kept in
a local Maildir. Every other recipient at a local domain is 550 5.1.1: Sluice
keeps no mailboxes. RFC 3461 §4.1 NOTIFY=NEVER on mail from clients that are
neither relay clients nor authenticated: no delivery report ever goes to an
address such a client supplied (RFC 5321 §6.2 warns against mail loops and
backscatter to forged senders).
"""

import subprocess

from conftest import SLUICED
from mx import body, inject, wait_outcomes, wait_until
from smtp_client import connect

UNTRUSTED = "127.0.0.2"


def send_from(s, source, sender, rcpts, content):
    with connect(s.port("relay"), source=source) as c:
        c.ehlo()
        r = c.send_message(sender, rcpts, content)
        assert r.code == 250, r
        return r.queued_id()


def test_postmaster_mail_is_kept_in_the_maildir(sluiced_factory):
    s = sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"],
                                          "local_domains": ["local.test"]}})
    qid = send_from(s, UNTRUSTED, "someone@example.org", ["Postmaster@local.test"],
                    "Subject: for the postmaster\r\n\r\nHello.\r\n")
    [kept] = list((s.tmp / "var" / "postmaster" / "new").iterdir())
    assert qid in kept.name
    text = kept.read_text()
    # RFC 5321 §4.4: the delivering server adds Return-Path; then the trace.
    assert text.startswith("Return-Path: <someone@example.org>\n"
                           "Delivered-To: postmaster@local.test\n"
                           "Received: from client.test ([127.0.0.2])\n"), text
    assert text.endswith("\nSubject: for the postmaster\n\nHello.\n"), text
    assert s.spool_count() == 0  # nothing left to deliver, nothing to bounce
    [ev] = s.wait_events(1)
    assert ev["type"] == "Reception" and ev["recipients"] == ["postmaster"], ev


def test_postmaster_is_sent_on_to_the_configured_mailbox(mx_lab, delivering_sluiced):
    ops = mx_lab.sink("ops")
    mx_lab.dns.mx("ops.example", "mx.ops.example", 10).a("mx.ops.example", ops.address)
    s = delivering_sluiced(config={
        "server": {"hostname": "mx.test", "postmaster": "abuse-desk@ops.example"},
        "relay": {"networks": ["127.0.0.1/32"], "local_domains": ["local.test"]}})

    qid = send_from(s, UNTRUSTED, "someone@example.org", ["postmaster", "POSTMASTER@local.test"],
                    body("pm-1"))

    [msg] = ops.wait_messages(1, timeout=20)
    assert msg.rcpt_tos == ["abuse-desk@ops.example"]  # once, though named twice
    assert msg.mail_from == "someone@example.org"
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery" and ev["recipient"] == "abuse-desk@ops.example", ev
    assert not (s.tmp / "var" / "postmaster").exists()


def test_no_report_to_a_sender_an_unknown_client_supplied(mx_lab, delivering_sluiced):
    # The configured mailbox refuses the mail. A report would go to the forged
    # sender's domain (src.example): it must not, though a relay client's
    # bounce right after does get its report there (so reports do work).
    ops = mx_lab.sink("ops")
    ops.reject_rcpts = {"abuse-desk@ops.example", "gone@ops.example"}
    origin = mx_lab.sink("origin")
    mx_lab.dns.mx("ops.example", "mx.ops.example", 10).a("mx.ops.example", ops.address)
    mx_lab.dns.mx("src.example", "mx.src.example", 10).a("mx.src.example", origin.address)
    s = delivering_sluiced(config={
        "server": {"hostname": "mx.test", "postmaster": "abuse-desk@ops.example"},
        "relay": {"networks": ["127.0.0.1/32"], "local_domains": ["local.test"]}})

    forged = send_from(s, UNTRUSTED, "victim@src.example", ["postmaster"], body("forged-1"))
    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=forged)
    assert ev["type"] == "Bounce", ev

    control = inject(s, "sender@src.example", ["gone@ops.example"], body("control-1"))
    [ev] = wait_outcomes(s, lambda ev: ev, 15, mid=control)
    assert ev["type"] == "Bounce", ev
    [report] = origin.wait_messages(1, timeout=20)
    assert report.rcpt_tos == ["sender@src.example"], report.rcpt_tos
    wait_until(lambda: s.spool_count() == 0, 10, interval=0.1, what="an empty spool")
    assert origin.snapshot()["messages"] == 1, "a report went to the forged sender"


def test_other_local_recipients_are_refused_for_every_client(sluiced_factory):
    s = sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"],
                                          "local_domains": ["local.test"]}})
    for source in ("127.0.0.1", UNTRUSTED):  # a relay client, and a stranger
        with connect(s.port("relay"), source=source) as c:
            c.ehlo()
            c.expect("MAIL FROM:<a@example.org>", 250)
            r = c.cmd("RCPT TO:<user@local.test>")
            assert (r.code, r.enhanced) == (550, "5.1.1"), (source, r)
            c.expect("RCPT TO:<postmaster@local.test>", 250)


def test_postmaster_at_a_local_domain_is_a_config_error(sluiced_factory):
    s = sluiced_factory(start=False, config={
        "server": {"hostname": "mx.test", "postmaster": "postmaster@local.test"},
        "relay": {"local_domains": ["local.test"]}})
    r = subprocess.run([SLUICED, "--check-config", str(s.config_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "sluiced.toml:" in r.stderr and "postmaster" in r.stderr, r.stderr


def test_postmaster_at_the_server_name_and_orcpt_cannot_forge_headers(sluiced_factory):
    # RFC 5321 §4.5.1: postmaster at the server's own name is ours too. The
    # client's ORCPT (RFC 3461 §4.2) does not reach the kept message's
    # headers: a CRLF hidden in its xtext is refused, and a plain one is
    # replaced by the address this server was asked for.
    s = sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"],
                                          "local_domains": ["local.test"]}})
    with connect(s.port("relay"), source=UNTRUSTED) as c:
        c.ehlo()
        c.expect("MAIL FROM:<someone@example.org>", 250)
        r = c.cmd("RCPT TO:<postmaster@MX.test> ORCPT=rfc822;x+0D+0AX-Evil:+20yes")
        assert (r.code, r.enhanced) == (501, "5.5.4"), r
        c.expect("RCPT TO:<postmaster@MX.test> ORCPT=rfc822;ceo@bank.example", 250)
        c.expect("DATA", 354)
        c.send("Subject: hi\r\n\r\nHello.\r\n.\r\n")
        assert c.reply().queued_id()
    [kept] = list((s.tmp / "var" / "postmaster" / "new").iterdir())
    head = kept.read_text().split("\n\n", 1)[0]
    assert "Delivered-To: postmaster@mx.test\n" in head, head
    assert "bank.example" not in head and "X-Evil" not in head, head
