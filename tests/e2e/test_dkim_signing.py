"""Mail leaves sluiced DKIM-signed (RFC 6376, RFC 8463), and the receiving side
verifies it with an independent verifier (dkimpy) against the keys published
in the test DNS server.

Rotation (RFC 6376 §3.1 selectors): for each algorithm the newest key whose
validity window is open and whose record is published signs; a key not yet
in DNS does not.
"""

import subprocess

import dkim
import pytest

from conftest import SLUICE_CLI
from mx import body, inject, wait_outcomes


def keygen(tmp, domain, selector, algorithm):
    pem = tmp / f"{domain}.{selector}.pem"
    out = subprocess.run([SLUICE_CLI, "dkim", "keygen", "--domain", domain, "--selector",
                          selector, "--algorithm", algorithm, "--out", str(pem)],
                         check=True, capture_output=True, text=True).stdout
    # The record keygen tells the operator to publish, from its zone line.
    line = next(l for l in out.splitlines() if "._domainkey." in l and " IN TXT " in l)
    record = "".join(part for part in line.split(" IN TXT ", 1)[1].split('"')[1::2])
    return pem, record


def dkimpy_dns(lab):
    def lookup(name, timeout=5):
        found = lab.dns.txt_lookup(name.decode().rstrip("."))
        return found[0] if found else None
    return lookup


def signatures(content):
    """The DKIM-Signature fields, unfolded."""
    head = content.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    return [line for line in head.split(b"\r\n") if line.lower().startswith(b"dkim-signature:")]


@pytest.fixture
def keys(tmp_path):
    d = tmp_path / "keys"
    d.mkdir()
    return {
        "r1": keygen(d, "src.example", "r1", "rsa2048"),
        "e1": keygen(d, "src.example", "e1", "ed25519"),
        "e2": keygen(d, "src.example", "e2", "ed25519"),
    }


def dkim_config(keys, **extra):
    return {
        "dkim": {
            "expire": "7d",
            **extra,
            "domain": [{
                "domain": "src.example",
                "key": [
                    {"selector": "r1", "key_file": str(keys["r1"][0])},
                    {"selector": "e1", "key_file": str(keys["e1"][0]),
                     "valid_from": "2026-01-01"},
                    # Newer, but its record is not in DNS: it must not sign yet.
                    {"selector": "e2", "key_file": str(keys["e2"][0]),
                     "valid_from": "2026-06-01"},
                ],
            }],
        }
    }


def test_delivered_mail_verifies_with_dkimpy(mx_lab, delivering_sluiced, keys):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.txt("r1._domainkey.src.example", keys["r1"][1])
    mx_lab.dns.txt("e1._domainkey.src.example", keys["e1"][1])
    s = delivering_sluiced(config=dkim_config(keys))

    text = "Caf\u00e9 line   with spaces  \r\n.leading dot\r\n\r\n"
    qid = inject(s, "sender@src.example", ["a@dest.example"],
                 body("dkim-1", extra_headers="To: a@dest.example\r\n"
                      "Subject: twice\r\n", text=text))
    [msg] = sink.wait_messages(1, timeout=20)
    content = msg.content
    sigs = signatures(content)
    assert len(sigs) == 2, content[:1500]
    # Above our Received field; one rsa-sha256 by r1, one ed25519-sha256 by e1 (not e2).
    assert content.lower().startswith(b"dkim-signature:")
    assert content.index(b"Received:") > content.lower().rindex(b"dkim-signature:")
    header = b"\r\n".join(sigs)
    assert b"a=rsa-sha256" in header and b"s=r1;" in header
    assert b"a=ed25519-sha256" in header and b"s=e1;" in header
    assert b"s=e2;" not in header
    assert b" l=" not in header and b";l=" not in header
    for i in range(len(sigs)):
        d = dkim.DKIM(content)
        assert d.verify(idx=i, dnsfunc=dkimpy_dns(mx_lab)), f"signature {i} fails: {d.logger}"
    # A receiver sees a change the signature covers.
    assert not dkim.verify(content.replace(b"Subject: dkim-1", b"Subject: dkim-2"),
                           dnsfunc=dkimpy_dns(mx_lab))
    [ev] = wait_outcomes(s, lambda ev: ev, 10, mid=qid)
    assert ev["type"] == "Delivery"


def test_publishing_the_new_selector_lets_it_take_over(mx_lab, delivering_sluiced, keys):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.txt("e1._domainkey.src.example", keys["e1"][1])
    mx_lab.dns.txt("e2._domainkey.src.example", keys["e2"][1])
    s = delivering_sluiced(config=dkim_config(keys))  # r1 is not published here

    inject(s, "sender@src.example", ["a@dest.example"], body("dkim-2"))
    [msg] = sink.wait_messages(1, timeout=20)
    sigs = signatures(msg.content)
    assert len(sigs) == 1, sigs
    assert b"s=e2;" in sigs[0]
    assert dkim.verify(msg.content, dnsfunc=dkimpy_dns(mx_lab))


def test_fallback_domain_signs_other_senders(mx_lab, delivering_sluiced, keys):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.txt("e1._domainkey.src.example", keys["e1"][1])
    cfg = dkim_config(keys, fallback_domain="src.example")
    s = delivering_sluiced(config=cfg)

    inject(s, "news@customer.example", ["a@dest.example"],
           "From: Shop <news@customer.example>\r\nSubject: fallback\r\n\r\nhi\r\n")
    [msg] = sink.wait_messages(1, timeout=20)
    [sig] = signatures(msg.content)
    assert b"d=src.example;" in sig and b"s=e1;" in sig
    assert dkim.verify(msg.content, dnsfunc=dkimpy_dns(mx_lab))


def test_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[listener]]\nname = "relay"\nport = 0\n\n'
        '[[dkim.domain]]\ndomain = "src.example"\n\n'
        '[[dkim.domain.key]]\nselector = "s1"\nkey_file = "/nonexistent/key.pem"\n')
    from conftest import SLUICED
    r = subprocess.run([SLUICED, "--check-config", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "bad.toml:" in r.stderr and "dkim.domain[0].key[0].key_file" in r.stderr, r.stderr
    assert "cannot read /nonexistent/key.pem" in r.stderr, r.stderr


def test_8bit_mail_is_signed_as_sent_to_a_7bit_server(mx_lab, delivering_sluiced, keys):
    # RFC 6376 §5.3: converted to quoted-printable before signing, so a next hop
    # without 8BITMIME (RFC 6152) gets a message whose signature still holds.
    sink = mx_lab.sink("mx1", eightbitmime=False)
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.txt("e1._domainkey.src.example", keys["e1"][1])
    s = delivering_sluiced(config=dkim_config(keys))
    content = ("From: <sender@src.example>\r\nSubject: eight\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n")
    inject(s, "sender@src.example", ["a@dest.example"], content, mail_params="BODY=8BITMIME")
    [msg] = sink.wait_messages(1, timeout=20)
    assert all(b < 0x80 for b in msg.content), "8-bit octets reached a 7-bit server"
    assert b"quoted-printable" in msg.content.lower()
    assert len(signatures(msg.content)) == 1
    assert dkim.verify(msg.content, dnsfunc=dkimpy_dns(mx_lab))


def test_mail_from_an_untrusted_client_is_not_signed(sluiced_factory, keys):
    # Mail a stranger may send (to a local domain) must not leave with our
    # domain's signature: only relay clients and authenticated users are signed for.
    cfg = dkim_config(keys)
    cfg["dkim"]["require_published"] = False
    cfg["relay"] = {"networks": ["10.0.0.0/8"], "local_domains": ["local.test"]}
    s = sluiced_factory(config=cfg)
    qid = inject(s, "sender@src.example", ["postmaster@local.test"], body("stranger"))
    [kept] = list((s.tmp / "var" / "postmaster" / "new").iterdir())
    assert qid in kept.name
    stored = kept.read_text()
    assert "DKIM-Signature" not in stored, stored[:500]
    assert "Subject: stranger" in stored
