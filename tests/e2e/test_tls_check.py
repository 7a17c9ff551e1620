"""`sluice tls check DOMAIN` and `sluice doctor DOMAIN` on transport security.

tls check shows the policy delivery would apply per MX host and why (RFC
7672 DANE, RFC 8461 MTA-STS); doctor shows the domain's MTA-STS policy,
TLSA records and TLS-RPT record (RFC 8460 §3) as a sender would see them.
"""

import re

from mx import server_tls_context
from pki import self_signed, sha256_hex
from policy_server import PolicyServer

POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.secure.test\r\nmax_age: 604800\r\n"


def test_tls_check_and_doctor(mx_lab, signed_dns, sluiced_factory, test_ca, tmp_path):
    leaf = self_signed(tmp_path, "mx.secure.test")
    sink = mx_lab.sink("secure", tls_context=server_tls_context(leaf.chain, leaf.key))
    web = test_ca.leaf("mta-sts.secure.test", dns_names=["mta-sts.secure.test",
                                                          "mta-sts.wrong.test"])
    server = PolicyServer(mx_lab._next_address(), web.chain, web.key)
    server.policy("mta-sts.secure.test", POLICY)
    server.policy("mta-sts.wrong.test", POLICY.replace("mx.secure.test", "mx.elsewhere.test"))
    try:
        z = "secure.test"
        signed_dns.zone(z)
        for line in ("@ IN MX 10 mx", f"mx IN A {sink.address}",
                     f"_{mx_lab.port}._tcp.mx IN TLSA 3 1 1 {sha256_hex(leaf.spki_der())}",
                     '_mta-sts IN TXT "v=STSv1; id=20261207"',
                     f"mta-sts IN A {server.address}",
                     '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@secure.test"'):
            signed_dns.record(z, line)
        w = "wrong.test"
        signed_dns.zone(w, signed=False)
        for line in ("@ IN MX 10 mx", f"mx IN A {sink.address}",
                     '_mta-sts IN TXT "v=STSv1; id=1"', f"mta-sts IN A {server.address}"):
            signed_dns.record(w, line)
        signed_dns.start()
        cfg = mx_lab.config(None, None, forwarder=signed_dns.forwarder)
        cfg["dns"]["trust_anchors"] = [str(signed_dns.trust_anchor_file)]
        cfg["delivery"].update({"ca_file": str(test_ca.cert), "mta_sts_port": server.port})
        s = sluiced_factory(config=cfg, start=False)

        p = s.cli("tls", "check", "secure.test")
        assert "mta-sts     id 20261207, mode enforce, max_age 604800, mx: mx.secure.test" \
            in p.stdout, p.stdout
        assert re.search(r"mx\.secure\.test\n  policy dane: TLS required, certificate must "
                         r"match TLSA\n  TLSA 3 1 1 ", p.stdout), p.stdout

        p = s.cli("tls", "check", "wrong.test", check=False)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert "not used now" in p.stdout and "MTA-STS" in p.stdout, p.stdout

        p = s.cli("doctor", "secure.test", "--ip", "127.0.0.1", check=False)
        lines = p.stdout.splitlines()

        def row(name):
            hits = [ln for ln in lines if ln.startswith(name + " ")]
            assert hits, p.stdout
            return hits[0]

        assert " pass " in row("mta-sts") and "mode enforce" in row("mta-sts"), p.stdout
        assert " pass " in row("tlsa mx.secure.test") and "3 1 1" in row("tlsa mx.secure.test")
        assert " pass " in row("tls-rpt") and "mailto:tlsrpt@secure.test" in row("tls-rpt")

        p = s.cli("doctor", "wrong.test", "--ip", "127.0.0.1", check=False)
        assert re.search(r"mta-sts\s+FAIL .*does not name: mx\.wrong\.test", p.stdout), p.stdout
    finally:
        server.stop()
