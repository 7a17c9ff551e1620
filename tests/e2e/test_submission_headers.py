"""Submission completes Message-ID and Date when missing; relay does not.

RFC 6409 §8.2 (Date) and §8.3 (Message-ID): a submission server may add them.
RFC 5322 §1.2.2 / §2.2: field names are case-insensitive, and only the header
section (before the first empty line) holds fields.

The additions are checked through the exact stored size (Received: field +
added fields + content) and, for their text, with `sluice spool cat`.
"""

import subprocess

import pytest

from conftest import PASSWORD, SLUICE_CLI
from smtp_client import connect, plain_response, received_header_length, rfc5322_date_from_event

CASES = {
    "neither": ("Subject: no ids\r\n\r\nbody\r\n", True, True),
    "both": ("Message-ID: <x@client.test>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
             "Subject: both\r\n\r\nbody\r\n", False, False),
    "lower-case-id-date-in-body": ("message-id: <x@client.test>\r\nSubject: lc\r\n\r\n"
                                   "Date: this is body text\r\n", False, True),
    "folded-not-a-field": ("Subject: x\r\n\tMessage-ID: <not a field>\r\nDATE : Mon, 1 Jan "
                           "2024 00:00:00 +0000\r\n\r\nbody\r\n", True, False),
}


def added_length(ev, add_id, add_date):
    n = 0
    if add_id:
        n += len(f"Message-ID: <{ev['id']}@mx.test>\r\n")
    if add_date:
        n += len(f"Date: {rfc5322_date_from_event(ev['timestamp'])}\r\n")
    return n


@pytest.mark.parametrize("case", list(CASES))
def test_submission_adds_missing_fields(sluiced, case):
    body, add_id, add_date = CASES[case]
    with connect(sluiced.port("smtps"), tls=True) as c:
        bits = c.sock.cipher()[2]
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
        assert c.send_message("alice@example.org", ["bob@example.net"], body).queued_id()
    [ev] = sluiced.wait_events(1)
    assert ev["protocol"] == "ESMTPSA"
    expected = received_header_length(ev, tls_bits=bits) + added_length(ev, add_id, add_date)
    assert ev["size"] == expected + len(body.encode()), (
        f"stored {ev['size']}, expected Received + "
        f"{'Message-ID ' if add_id else ''}{'Date ' if add_date else ''}+ content")


def test_relay_adds_nothing(sluiced):
    body = "Subject: no ids\r\n\r\nbody\r\n"
    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        assert c.send_message("a@example.org", ["b@example.net"], body).queued_id()
    [ev] = sluiced.wait_events(1)
    assert ev["size"] == received_header_length(ev) + len(body)


def test_submission_added_fields_content(sluiced):
    """The stored message starts with our Received: field, then the added fields."""
    body = "Subject: no ids\r\n\r\nbody\r\n"
    with connect(sluiced.port("smtps"), tls=True) as c:
        c.ehlo("client.example")
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
        assert c.send_message("alice@example.org", ["bob@example.net"], body).queued_id()
    [ev] = sluiced.wait_events(1)
    # Bytes, not text: universal newlines would hide the CRLFs.
    stored = subprocess.run([SLUICE_CLI, "--config", str(sluiced.config_path), "spool", "cat", ev["id"]],
                            capture_output=True, check=True, timeout=60).stdout.decode()
    header, _, rest = stored.partition("\r\n\r\n")
    lines = header.split("\r\n")
    assert lines[0] == "Received: from client.example ([127.0.0.1])"
    assert lines[1] == f"\tby mx.test (Sluice) with ESMTPSA id {ev['id']}"
    assert lines[2].startswith("\t(using TLSv1.3 with cipher ")
    assert lines[3] == "\tfor <bob@example.net>;"
    assert lines[4] == f"\t{rfc5322_date_from_event(ev['timestamp'])}"
    assert lines[5] == f"Message-ID: <{ev['id']}@mx.test>"
    assert lines[6] == f"Date: {rfc5322_date_from_event(ev['timestamp'])}"
    assert lines[7] == "Subject: no ids"
    assert rest == "body\r\n"
