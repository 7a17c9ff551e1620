"""`sluice doctor DOMAIN` against zones served by the test DNS server (dnsmasq).

A correctly set up domain passes every check; broken SPF (RFC 7208), a missing
or mismatched DKIM selector (RFC 6376 §3.6), a missing DMARC record (RFC 7489)
and a PTR that does not match the EHLO name each fail, with a fix.
"""

import re
import subprocess

import pytest

from conftest import SLUICE_CLI

EGRESS = "127.0.0.60"
EHLO = "out.good.example"


def keygen(tmp, domain, selector):
    pem = tmp / f"{domain}.{selector}.pem"
    out = subprocess.run([SLUICE_CLI, "dkim", "keygen", "--domain", domain, "--selector",
                          selector, "--algorithm", "ed25519", "--out", str(pem)],
                         check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if " IN TXT " in l)
    return pem, "".join(line.split(" IN TXT ", 1)[1].split('"')[1::2])


@pytest.fixture
def zone(mx_lab, tmp_path):
    """dnsmasq with one healthy domain and one domain per kind of breakage."""
    keys = {d: keygen(tmp_path, d, "s1")
            for d in ("good.example", "badspf.example", "nosel.example", "wrongkey.example",
                      "nodmarc.example")}
    other_key = keygen(tmp_path, "elsewhere.example", "s1")
    dns = mx_lab.dns
    for d in keys:
        dns.mx(d, f"mx.{d}", 10).a(f"mx.{d}", "127.0.0.50")
        spf = "v=spf1 ip4:127.0.0.99 -all" if d == "badspf.example" else \
            f"v=spf1 a:{EHLO} ip4:127.0.0.61 -all"
        dns.txt(d, spf)
        if d != "nodmarc.example":
            dns.txt(f"_dmarc.{d}", f"v=DMARC1; p=reject; rua=mailto:dmarc@{d}")
        if d == "wrongkey.example":
            dns.txt(f"s1._domainkey.{d}", other_key[1])
        elif d != "nosel.example":
            dns.txt(f"s1._domainkey.{d}", keys[d][1])
    # Forward-confirmed reverse DNS for the egress address, named as in EHLO
    # (dnsmasq's --host-record serves the PTR too); a second address whose
    # PTR names another host.
    dns.a(EHLO, EGRESS)
    dns.a("other.good.example", "127.0.0.61")
    dns.start()
    config = tmp_path / "doctor.toml"
    lines = [
        '[[listener]]', 'name = "relay"', 'port = 0', '',
        '[dns]', f'forwarders = ["{dns.forwarder}"]', '',
        '[delivery]', f'ehlo_name = "{EHLO}"', f'source_address = "{EGRESS}"', '',
    ]
    for d, (pem, _) in keys.items():
        lines += ['[[dkim.domain]]', f'domain = "{d}"', '',
                  '[[dkim.domain.key]]', 'selector = "s1"', f'key_file = "{pem}"', '']
    config.write_text("\n".join(lines) + "\n")
    return config


def doctor(config, domain, *extra):
    r = subprocess.run([SLUICE_CLI, "--config", str(config), "doctor", domain, *extra],
                       capture_output=True, text=True, timeout=60)
    checks = {}
    for line in r.stdout.splitlines()[1:]:
        m = re.match(r"^(\S(?:.*?\S)?)\s{2,}(pass|warn|FAIL|info)\s+(.*)$", line)
        if m:
            checks[m.group(1)] = (m.group(2), m.group(3))
    return r, checks


def test_a_correct_domain_passes_everything(zone):
    r, checks = doctor(zone, "good.example")
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("mx", "spf", f"spf {EGRESS}", "dkim s1", "dmarc", f"ptr {EGRESS}"):
        assert checks.get(name, ("missing",))[0] == "pass", (name, r.stdout)
    assert checks["mta-sts"][0] == "info"
    assert "policy reject" in checks["dmarc"][1]
    assert "fix:" not in r.stdout


def test_spf_not_authorising_the_egress_address_fails(zone):
    r, checks = doctor(zone, "badspf.example")
    assert r.returncode == 1
    assert checks["spf"][0] == "pass"  # the record itself is fine
    assert checks[f"spf {EGRESS}"][0] == "FAIL", r.stdout
    assert f"add ip4:{EGRESS} to the SPF record" in r.stdout


def test_missing_selector_fails_with_the_record_to_publish(zone):
    r, checks = doctor(zone, "nosel.example")
    assert r.returncode == 1
    assert checks["dkim s1"][0] == "FAIL"
    assert "no key record published" in checks["dkim s1"][1]
    assert "publish: s1._domainkey.nosel.example. IN TXT \"v=DKIM1; k=ed25519; p=" in r.stdout


def test_mismatched_key_fails(zone):
    r, checks = doctor(zone, "wrongkey.example")
    assert r.returncode == 1
    assert checks["dkim s1"][0] == "FAIL"
    assert "not this key" in checks["dkim s1"][1]


def test_missing_dmarc_fails(zone):
    r, checks = doctor(zone, "nodmarc.example")
    assert r.returncode == 1
    assert checks["dmarc"][0] == "FAIL"
    assert "_dmarc.nodmarc.example. IN TXT \"v=DMARC1; p=none" in r.stdout


def test_ptr_not_matching_ehlo_fails(zone):
    r, checks = doctor(zone, "good.example", "--ip", "127.0.0.61")
    assert r.returncode == 1
    assert checks["spf 127.0.0.61"][0] == "pass"
    assert checks["ptr 127.0.0.61"][0] == "FAIL", r.stdout
    assert "differs from the EHLO name" in checks["ptr 127.0.0.61"][1]


