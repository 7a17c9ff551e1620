"""Internationalised addresses.

RFC 6531 §3.4 (non-ASCII envelope addresses need the SMTPUTF8 MAIL parameter;
the X.6.7 enhanced code it registers), §3.7.3 (trace "with UTF8SMTP"),
RFC 5890 / RFC 5321 §2.4 (domains compare case-insensitively, U-label and
A-label forms are the same domain), RFC 5321 §4.5.1 (postmaster).
"""

from smtp_client import connect


def test_utf8_and_idn_local_domains(sluiced_factory):
    s = sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"],
                                          "local_domains": ["bücher.example", "Local.TEST"]}})
    with connect(s.port("relay"), source="127.0.0.2") as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        r = c.cmd("RCPT TO:<postmaster@bücher.example>")
        assert (r.code, r.enhanced) == (553, "5.6.7"), r
        # Both spellings, any case, are the local domain: no mailbox there but postmaster.
        for rcpt in ("x@xn--bcher-kva.example", "y@XN--BCHER-KVA.EXAMPLE", "z@local.test"):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert (r.code, r.enhanced) == (550, "5.1.1"), (rcpt, r)
        c.expect("RCPT TO:<postmaster@xn--bcher-kva.example>", 250)
        c.expect("RSET", 250)
        r = c.cmd("MAIL FROM:<jürgen@example.org>")
        assert (r.code, r.enhanced) == (553, "5.6.7"), r
        c.expect("MAIL FROM:<jürgen@example.org> SMTPUTF8", 250)
        r = c.cmd("RCPT TO:<x@BÜCHER.example>")
        assert (r.code, r.enhanced) == (550, "5.1.1"), r
        c.expect("RCPT TO:<postmaster@bücher.example>", 250)
        r = c.cmd("RCPT TO:<x@münchen.example>")
        assert (r.code, r.enhanced) == (554, "5.7.1"), r
        c.expect("DATA", 354)
        c.send("Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\ngrüße\r\n.\r\n")
        assert c.reply().queued_id()
    [ev] = s.wait_events(1)
    assert ev["sender"] == "jürgen@example.org"
    assert ev["recipients"] == ["postmaster"]
    assert ev["protocol"] == "UTF8SMTP"
