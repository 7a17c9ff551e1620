"""MTA-STS (RFC 8461) on the way out.

Each domain publishes "_mta-sts" TXT (v=STSv1; id=...) and a policy served
over HTTPS by mta-sts.DOMAIN (tests/e2e/policy_server.py, its certificate
from our private CA, which sluiced trusts through [delivery] ca_file).

* §4.2, §5: enforce: only MX hosts the policy names, over TLS with a
  certificate valid for the host; otherwise the mail is deferred (4.7.5),
  never sent in cleartext or to an unnamed host.
* §5: testing: the checks run and fail, the mail still goes.
* §3.3: a policy host whose certificate does not verify gives no policy.
"""

import pytest

from mx import body, inject, server_tls_context, wait_outcomes
from pki import self_signed
from policy_server import PolicyServer
from test_metrics import families, scrape, value

DOMAINS = ("ok.example", "unnamed.example", "badcert.example", "testing.example",
           "badhost.example")


def policy(mode, *mx):
    return "version: STSv1\r\nmode: %s\r\n%smax_age: 86400\r\n" % (
        mode, "".join(f"mx: {m}\r\n" for m in mx))


@pytest.fixture
def sts_lab(mx_lab, test_ca, tmp_path):
    """Sinks, DNS and one policy server for every domain of DOMAINS."""
    hosts = [f"mta-sts.{d}" for d in DOMAINS if d != "badhost.example"]
    leaf = test_ca.leaf("mta-sts", dns_names=hosts)
    server = PolicyServer(mx_lab._next_address(), leaf.chain, leaf.key)
    bad = self_signed(tmp_path, "mta-sts.badhost.example")
    bad_server = PolicyServer(mx_lab._next_address(), bad.chain, bad.key, port=server.port)
    sinks = {}
    for d in DOMAINS:
        mx = f"mx1.{d}"
        if d == "badcert.example":
            leaf_mx = test_ca.leaf(mx, expired=True)
        elif d == "testing.example":
            leaf_mx = self_signed(tmp_path, mx)
        else:
            leaf_mx = test_ca.leaf(mx)
        sinks[d] = mx_lab.sink(d, tls_context=server_tls_context(leaf_mx.chain, leaf_mx.key))
        mx_lab.dns.mx(d, mx, 10).a(mx, sinks[d].address)
        mx_lab.dns.txt(f"_mta-sts.{d}", "v=STSv1; id=20261207;")
        mx_lab.dns.a(f"mta-sts.{d}", (bad_server if d == "badhost.example" else server).address)
    server.policy("mta-sts.ok.example", policy("enforce", "mx1.ok.example"))
    server.policy("mta-sts.unnamed.example", policy("enforce", "mx9.unnamed.example"))
    server.policy("mta-sts.badcert.example", policy("enforce", "*.badcert.example"))
    server.policy("mta-sts.testing.example", policy("testing", "mx1.testing.example"))
    bad_server.policy("mta-sts.badhost.example", policy("enforce", "nothing.example"))
    yield server, sinks
    server.stop()
    bad_server.stop()


def test_mta_sts_enforce_and_testing(sts_lab, delivering_sluiced, test_ca):
    server, sinks = sts_lab
    s = delivering_sluiced(delivery={"ca_file": str(test_ca.cert), "mta_sts_port": server.port},
                           queue={"first_retry": "30s"})

    ids = {d: inject(s, "sender@src.example", [f"a@{d}"], body(f"sts-{d}")) for d in DOMAINS}

    # enforce, named host, good certificate: delivered, authenticated.
    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=ids["ok.example"])
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "mta-sts", ev
    assert ev["tls"]["authenticated"] is True, ev
    # testing: the self-signed certificate fails the check, the mail goes.
    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=ids["testing.example"])
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "mta-sts-testing", ev
    assert ev["tls"]["authenticated"] is False, ev
    # A policy host whose certificate does not verify: no policy, so plain
    # opportunistic delivery (its policy would have named no usable host).
    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=ids["badhost.example"])
    assert ev["type"] == "Delivery" and ev["tls_policy"] == "opportunistic", ev

    # enforce, MX not named by the policy: deferred, never connected.
    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=ids["unnamed.example"])
    assert ev["type"] == "TransientFailure", ev
    assert ev["response"]["enhanced"] == "4.7.5", ev
    assert "MTA-STS" in ev["response"]["text"], ev
    assert sinks["unnamed.example"].snapshot()["connections"] == 0
    # enforce, named host with an expired certificate: deferred, no MAIL.
    [ev] = wait_outcomes(s, lambda ev: ev, 20, mid=ids["badcert.example"])
    assert ev["type"] == "TransientFailure" and ev["tls_policy"] == "mta-sts", ev
    assert (ev["response"]["code"], ev["response"]["enhanced"]) == (451, "4.7.5"), ev
    assert "expired" in ev["response"]["text"], ev
    snap = sinks["badcert.example"].snapshot()
    assert snap["connections"] >= 1 and snap["transactions"] == 0, snap

    # Failures are counted by policy and RFC 8460 result type, the testing
    # mode's too (its mail went anyway).
    fams = families(scrape(s)[2])
    assert value(fams, "sluice_outbound_tls_failures_total", policy="mta-sts-testing",
                 result="certificate-not-trusted") >= 1, fams["sluice_outbound_tls_failures_total"]
    assert value(fams, "sluice_outbound_tls_failures_total", policy="mta-sts",
                 result="certificate-expired") >= 1
    assert value(fams, "sluice_outbound_tls_total", policy="mta-sts") >= 1

    # The policies were fetched once each and kept (RFC 8461 §5.1).
    assert server.count("mta-sts.ok.example") == 1
    state = s.spool_path / "mta-sts.policies"
    assert "ok.example 20261207 enforce 86400" in state.read_text()
