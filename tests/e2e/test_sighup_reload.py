"""SIGHUP reloads TLS certificates (tls = "files") and the users file without
dropping connections.

RFC 8314 §3.3 / RFC 3207 (the certificate presented in the handshake), RFC 4954
(AUTH against the reloaded users). Operational behaviour, no RFC mandates it.
"""

import hashlib
import signal
import ssl
import time

from conftest import PASSWORD
from smtp_client import connect, plain_response


def der_fingerprint(pem_path):
    der = ssl.PEM_cert_to_DER_cert(pem_path.read_text())
    return hashlib.sha256(der).hexdigest()


def served_fingerprint(port):
    with connect(port, tls=True) as c:
        der = c.sock.getpeercert(binary_form=True)
        c.expect("QUIT", 221)
    return hashlib.sha256(der).hexdigest()


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_sighup_reloads_cert_and_users(sluiced_factory, make_cert, tmp_path):
    cert_a, key_a = make_cert("a")
    cert_b, key_b = make_cert("b")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(cert_a.read_bytes())
    live_key.write_bytes(key_a.read_bytes())
    s = sluiced_factory(
        listener_opts={"smtps": {"tls": "files", "tls_cert": str(live_cert),
                                 "tls_key": str(live_key)}},
        users={"alice": PASSWORD})
    port = s.port("smtps")
    assert served_fingerprint(port) == der_fingerprint(cert_a)

    held = connect(port, tls=True)
    plain = connect(s.port("relay"))
    try:
        held.ehlo()
        plain.ehlo()
        held.expect("AUTH PLAIN " + plain_response("bob", "bobs password"), 535)

        live_cert.write_bytes(cert_b.read_bytes())
        live_key.write_bytes(key_b.read_bytes())
        s.add_user("bob", "bobs password")
        s.signal(signal.SIGHUP)

        assert wait_until(lambda: served_fingerprint(port) == der_fingerprint(cert_b)), \
            "new certificate not served after SIGHUP"
        # Existing sessions were not dropped.
        held.expect("NOOP", 250)
        plain.expect("NOOP", 250)
        assert s.running()
        held.expect("AUTH PLAIN " + plain_response("bob", "bobs password"), 235, "2.7.0")
        held.expect("MAIL FROM:<bob@example.org>", 250)
        held.expect("RCPT TO:<x@example.net>", 250)
        held.expect("DATA", 354)
        held.send("Subject: after reload\r\n\r\nbody\r\n.\r\n")
        assert held.reply().queued_id()
    finally:
        held.close()
        plain.close()
    [ev] = s.wait_events(1)
    assert ev["auth_user"] == "bob"


def test_sighup_keeps_old_cert_if_new_one_is_broken(sluiced_factory, make_cert, tmp_path):
    cert_a, key_a = make_cert("a")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    live_cert.write_bytes(cert_a.read_bytes())
    live_key.write_bytes(key_a.read_bytes())
    s = sluiced_factory(listener_opts={"smtps": {"tls": "files", "tls_cert": str(live_cert),
                                                 "tls_key": str(live_key)}})
    live_cert.write_text("not a certificate\n")
    s.signal(signal.SIGHUP)
    # The reload ran and refused the file (not merely: nothing happened yet).
    assert wait_until(lambda: "TLS reload failed, keeping the old certificate" in s.output()), \
        "no failed TLS reload after SIGHUP:\n" + s.output()[-2000:]
    assert s.running()
    assert served_fingerprint(s.port("smtps")) == der_fingerprint(cert_a)


def test_sighup_reopens_event_log(sluiced):
    """Log rotation: after a rename and SIGHUP, new events go to a new file."""
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        first = c.send_message("a@example.org", ["b@example.net"], "x\r\n").queued_id()
        rotated = sluiced.events_path.with_suffix(".1")
        sluiced.events_path.rename(rotated)
        sluiced.signal(signal.SIGHUP)
        assert wait_until(sluiced.events_path.exists), "event log not reopened"
        # The held session survives the reload.
        second = c.send_message("a@example.org", ["b@example.net"], "y\r\n").queued_id()
    assert [e["id"] for e in sluiced.wait_events(1)] == [second]
    assert first in rotated.read_text() and second not in rotated.read_text()


def test_sighup_keeps_old_users_if_file_is_broken(sluiced):
    sluiced.users_path.write_text("this is not a users file\n")
    sluiced.signal(signal.SIGHUP)
    assert wait_until(lambda: "users reload failed, keeping the old users" in sluiced.output()), \
        "no failed users reload after SIGHUP:\n" + sluiced.output()[-2000:]
    assert sluiced.running()
    with connect(sluiced.port("smtps"), tls=True) as c:
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
