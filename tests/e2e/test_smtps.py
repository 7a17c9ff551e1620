"""Implicit TLS submission (port 465 style) with smtplib.SMTP_SSL and AUTH.

RFC 8314 §3.3 (implicit TLS for submission), RFC 4954 §4 (AUTH),
RFC 6409 §4.3 (authentication before MAIL: 530 5.7.0).
"""

import smtplib

import pytest

from conftest import PASSWORD
from smtp_client import QUEUED_RE, client_tls_context


def test_smtps_auth_and_send(sluiced):
    with smtplib.SMTP_SSL("127.0.0.1", sluiced.port("smtps"), local_hostname="client.test",
                          context=client_tls_context(), timeout=15) as s:
        s.ehlo()
        # Already inside TLS: no STARTTLS (RFC 3207 §4.2), AUTH offered.
        assert not s.has_extn("starttls")
        assert "PLAIN" in s.esmtp_features["auth"].upper().split()
        code, resp = s.docmd("MAIL", "FROM:<alice@example.org>")
        assert code == 530 and resp.startswith(b"5.7.0"), (code, resp)
        code, resp = s.login("alice", PASSWORD)
        assert code == 235, resp
        tls_version = s.sock.version()
        s.mail("alice@example.org")
        s.rcpt("bob@example.net")
        code, resp = s.data("Subject: over 465\r\n\r\nbody\r\n")
        assert code == 250, resp
        queued_id = QUEUED_RE.match(resp.decode()).group(1)

    [ev] = sluiced.wait_events(1)
    assert ev["id"] == queued_id
    assert ev["listener"] == "smtps"
    assert ev["auth_user"] == "alice"
    assert ev["tls"]["version"] == tls_version
    assert ev["protocol"] == "ESMTPSA"
    assert sluiced.spool_count() == 1


def test_smtps_bad_password(sluiced):
    with smtplib.SMTP_SSL("127.0.0.1", sluiced.port("smtps"), context=client_tls_context(),
                          timeout=15) as s:
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice", "wrong")
        assert e.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("nobody", PASSWORD)
        assert e.value.smtp_code == 535
    assert sluiced.events() == []
