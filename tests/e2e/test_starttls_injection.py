"""STARTTLS command injection (CVE-2011-0411).

RFC 3207 §4.2 / §6: the server must discard any knowledge obtained from the
client before the TLS handshake, including plaintext pipelined after STARTTLS.
"""

import pytest

from smtp_client import connect


@pytest.mark.parametrize("listener", ["relay", "submission"])
def test_plaintext_after_starttls_is_discarded(sluiced, listener):
    with connect(sluiced.port(listener)) as c:
        c.ehlo()
        c.send("STARTTLS\r\nNOOP\r\n")
        r = c.reply()
        assert (r.code, r.enhanced) == (220, "2.0.0"), r
        assert c.buf == b"", f"more than the 220 before the handshake: {c.buf!r}"
        c.starttls()
        c.send("EHLO x\r\n")
        first = c.reply()
        assert first.code == 250 and first.lines[0].startswith("mx.test Hello x"), (
            f"first reply under TLS is not the EHLO reply: {first!r}")
        assert len(first.lines) > 1
        assert c.pending(0.3) == b"", "an injected command was answered"
        c.expect("QUIT", 221)


def test_injected_mail_not_executed(sluiced):
    """An injected MAIL must not open a transaction inside TLS."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        c.send("STARTTLS\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<v@example.net>\r\n")
        assert c.reply().code == 220
        c.starttls()
        c.ehlo()
        r = c.cmd("RCPT TO:<v@example.net>")
        assert (r.code, r.enhanced) == (503, "5.5.1"), r
        c.expect("QUIT", 221)
