"""swaks as an independent client: PIPELINING on the relay listener, implicit
TLS plus AUTH on the smtps listener.

RFC 2920 (PIPELINING), RFC 8314 §3.3 (implicit TLS), RFC 4954 (AUTH).
"""

import re
import subprocess

import pytest

from conftest import PASSWORD

SWAKS = "/usr/bin/swaks"


def swaks(*args):
    p = subprocess.run([SWAKS, "--timeout", "15", *args], capture_output=True, text=True,
                       timeout=60)
    return p


def queued_ids(output):
    return re.findall(r"<[-~*]  250 2\.0\.0 Ok: queued as ([0-9a-f]{32})", output)


def test_swaks_pipeline_relay(sluiced):
    p = swaks("--server", f"127.0.0.1:{sluiced.port('relay')}", "--pipeline",
              "--helo", "swaks.test", "--from", "sender@example.org",
              "--to", "r1@example.net,r2@example.net")
    assert p.returncode == 0, p.stdout + p.stderr
    ids = queued_ids(p.stdout)
    assert len(ids) == 1, p.stdout
    [ev] = sluiced.wait_events(1)
    assert ev["id"] == ids[0]
    assert ev["sender"] == "sender@example.org"
    assert ev["recipients"] == ["r1@example.net", "r2@example.net"]
    assert ev["helo"] == "swaks.test"
    assert ev["listener"] == "relay"
    assert ev["protocol"] == "ESMTP"


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_tls_on_connect_auth(sluiced, mech):
    p = swaks("--server", f"127.0.0.1:{sluiced.port('smtps')}", "--tls-on-connect",
              "--auth", mech, "--auth-user", "alice", "--auth-password", PASSWORD,
              "--from", "alice@example.org", "--to", "bob@example.net")
    assert p.returncode == 0, p.stdout + p.stderr
    ids = queued_ids(p.stdout)
    assert len(ids) == 1, p.stdout
    [ev] = sluiced.wait_events(1)
    assert ev["id"] == ids[0]
    assert ev["listener"] == "smtps"
    assert ev["auth_user"] == "alice"
    assert ev["tls"] is not None and ev["tls"]["version"].startswith("TLS")
    assert ev["protocol"] == "ESMTPSA"


def test_swaks_submission_starttls_auth(sluiced):
    p = swaks("--server", f"127.0.0.1:{sluiced.port('submission')}", "--tls",
              "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", PASSWORD,
              "--from", "alice@example.org", "--to", "bob@example.net")
    assert p.returncode == 0, p.stdout + p.stderr
    [ev] = sluiced.wait_events(1)
    assert ev["id"] == queued_ids(p.stdout)[0]
    assert ev["listener"] == "submission"
    assert ev["auth_user"] == "alice"


def test_swaks_auth_failure_exit_code(sluiced):
    p = swaks("--server", f"127.0.0.1:{sluiced.port('smtps')}", "--tls-on-connect",
              "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong",
              "--from", "alice@example.org", "--to", "bob@example.net")
    assert p.returncode != 0, p.stdout
    assert "535 5.7.8" in p.stdout
    assert sluiced.events() == []
