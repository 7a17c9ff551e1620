"""Submission (port 587 style): STARTTLS, then AUTH PLAIN / AUTH LOGIN, then mail.

RFC 6409 §4.3 and §6.4 (submission requires authentication: 530 5.7.0),
RFC 3207 §4 and §4.2 (STARTTLS; state is reset after the handshake),
RFC 4954 §4 and §6 (AUTH; 538 5.7.11 "Encryption required"),
RFC 4616 (PLAIN). LOGIN is the draft-murchison-sasl-login mechanism.
"""

import smtplib

import pytest

from conftest import PASSWORD
from smtp_client import QUEUED_RE, client_tls_context, connect, plain_response

BODY = "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: s\r\n\r\nhi\r\n"


def open_tls_submission(sluiced):
    s = smtplib.SMTP("127.0.0.1", sluiced.port("submission"), local_hostname="client.test",
                     timeout=15)
    s.ehlo()
    assert s.has_extn("starttls")
    code, _ = s.starttls(context=client_tls_context())
    assert code == 220
    s.ehlo()
    return s


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("initial_response", [True, False])
def test_starttls_then_auth_then_mail(sluiced, mechanism, initial_response):
    s = open_tls_submission(sluiced)
    try:
        assert s.has_extn("auth")
        assert set(s.esmtp_features["auth"].upper().split()) >= {"PLAIN", "LOGIN"}
        # RFC 3207 §4.2: STARTTLS is not offered again inside TLS.
        assert not s.has_extn("starttls")
        s.user, s.password = "alice", PASSWORD
        method = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        code, resp = s.auth(mechanism, method, initial_response_ok=initial_response)
        assert code == 235, resp
        assert resp.startswith(b"2.7.0")
        tls_version = s.sock.version()
        s.mail("alice@example.org")
        s.rcpt("bob@example.net")
        code, resp = s.data(BODY)
        assert code == 250, resp
        queued_id = QUEUED_RE.match(resp.decode()).group(1)
    finally:
        s.close()

    [ev] = sluiced.wait_events(1)
    assert ev["id"] == queued_id
    assert ev["listener"] == "submission"
    assert ev["auth_user"] == "alice"
    assert ev["tls"] is not None
    assert ev["tls"]["version"] == tls_version
    assert ev["tls"]["cipher"]
    assert ev["protocol"] == "ESMTPSA"
    assert ev["sender"] == "alice@example.org"
    assert ev["recipients"] == ["bob@example.net"]
    # RFC 6409 §8: Date/Message-ID may be added, so the size is at least the content.
    assert ev["size"] > len(BODY)
    assert sluiced.spool_count() == 1


def test_wrong_password_is_refused(sluiced):
    s = open_tls_submission(sluiced)
    try:
        s.user, s.password = "alice", "not the password"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("PLAIN", s.auth_plain)
        assert e.value.smtp_code == 535
        assert e.value.smtp_error.startswith(b"5.7.8")
        code, resp = s.docmd("MAIL", "FROM:<alice@example.org>")
        assert (code, resp[:5]) == (530, b"5.7.0")
    finally:
        s.close()


def test_auth_before_starttls_is_refused(sluiced):
    with connect(sluiced.port("submission")) as c:
        ehlo = c.ehlo()
        assert "STARTTLS" in ehlo.lines
        assert not any(line.upper().startswith("AUTH") for line in ehlo.lines), ehlo
        r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD))
        assert (r.code, r.enhanced) == (538, "5.7.11"), r
        r = c.cmd("AUTH LOGIN")
        assert (r.code, r.enhanced) == (538, "5.7.11"), r
        # The session is still usable and still unauthenticated.
        r = c.cmd("MAIL FROM:<alice@example.org>")
        assert (r.code, r.enhanced) == (530, "5.7.0"), r
        c.expect("QUIT", 221)
    assert sluiced.events() == []


def test_mail_without_auth_after_starttls_is_refused(sluiced):
    s = open_tls_submission(sluiced)
    try:
        code, resp = s.docmd("MAIL", "FROM:<alice@example.org>")
        assert code == 530 and resp.startswith(b"5.7.0"), (code, resp)
        code, resp = s.docmd("RCPT", "TO:<bob@example.net>")
        assert code == 503, (code, resp)
    finally:
        s.close()
    assert sluiced.events() == []
    assert sluiced.spool_count() == 0


def test_starttls_forgets_ehlo(sluiced):
    """RFC 3207 §4.2: after the handshake the client must send EHLO again."""
    with connect(sluiced.port("submission")) as c:
        c.ehlo()
        c.expect("STARTTLS", 220, "2.0.0")
        c.starttls()
        r = c.cmd("AUTH PLAIN " + plain_response("alice", PASSWORD))
        assert r.code == 503, r
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235, "2.7.0")
        c.expect("STARTTLS", 503)
        c.expect("QUIT", 221)
