"""TLS reports (RFC 8460) about outbound sessions.

A day of mixed results in the MTA-STS lab (test_delivery_mta_sts): a
verified session, certificate failures under enforce and testing, a policy
that names no MX, a policy host whose certificate fails. Every domain asks
for reports by mail ("_smtp._tls" TXT, §3), but one by HTTPS.
`sluice tls report send` ends the day early; one report per domain arrives,
as §5.3 describes it, and its JSON (gzip) validates against the report's
fields (tlsrpt_schema.json, from §4.3-4.4) and counts what happened. The
mail is DKIM-signed by the submitter's domain (§5.3) and verifies.
"""

import email
import email.policy
import gzip
import json
from pathlib import Path

import dkim
import jsonschema

from mx import body, inject, wait_outcomes, wait_until
from policy_server import PolicyServer
from test_delivery_mta_sts import DOMAINS, sts_lab  # noqa: F401 (a fixture)
from test_dkim_signing import dkimpy_dns, keygen

SCHEMA = json.loads((Path(__file__).parent / "tlsrpt_schema.json").read_text())
SUBMITTER = "mta.sender.example"


def parse_report(message):
    """(headers, report) of one report mail, checked against §5.3."""
    msg = email.message_from_bytes(message.content, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg["Content-Type"]
    assert msg.get_param("report-type") == "tlsrpt", msg["Content-Type"]
    domain = msg["TLS-Report-Domain"]
    assert msg["TLS-Report-Submitter"] == SUBMITTER
    assert msg["TLS-Required"] == "No"  # §5.3: delivered despite TLS trouble
    assert str(msg["Subject"]).startswith(f"Report Domain: {domain} Submitter: {SUBMITTER} "
                                          "Report-ID: <"), msg["Subject"]
    [part] = [p for p in msg.iter_attachments()
              if p.get_content_type() == "application/tlsrpt+gzip"]
    name = part.get_filename()
    assert name.startswith(f"{SUBMITTER}!{domain}!") and name.endswith(".json.gz"), name
    report = json.loads(gzip.decompress(part.get_content()))
    jsonschema.validate(report, SCHEMA)
    return domain, report


def policy_of(report, kind):
    found = [p for p in report["policies"] if p["policy"]["policy-type"] == kind]
    assert len(found) == 1, report
    return found[0]


def failures(entry):
    return {(f["result-type"], f.get("receiving-mx-hostname")): f["failed-session-count"]
            for f in entry.get("failure-details", [])}


def test_daily_report_of_mixed_results(sts_lab, mx_lab, delivering_sluiced, test_ca,  # noqa: F811
                                       tmp_path):
    server, sinks = sts_lab
    key, record = keygen(tmp_path, SUBMITTER, "rpt", "ed25519")
    mx_lab.dns.txt(f"rpt._domainkey.{SUBMITTER}", record)
    collector_leaf = test_ca.leaf("localhost")
    collector = PolicyServer("127.0.0.1", collector_leaf.chain, collector_leaf.key, port=0)
    reports = mx_lab.sink("reports.example")
    mx_lab.dns.mx("reports.example", "mx1.reports.example", 10).a("mx1.reports.example",
                                                                  reports.address)
    for d in DOMAINS:
        # (The lab's DNS cannot serve a comma: one rua each.)
        rua = (f"https://localhost:{collector.port}/tlsrpt" if d == "ok.example"
               else "mailto:tlsrpt@reports.example")
        mx_lab.dns.txt(f"_smtp._tls.{d}", f"v=TLSRPTv1; rua={rua}")
    try:
        s = delivering_sluiced(
            delivery={"ca_file": str(test_ca.cert), "mta_sts_port": server.port},
            queue={"first_retry": "30s"},
            config={"tls_reports": {"submitter": SUBMITTER, "organization": "Sluice e2e"},
                    "dkim": {"domain": [{"domain": SUBMITTER, "key": [
                        {"selector": "rpt", "key_file": str(key)}]}]}})
        ids = {d: inject(s, "sender@src.example", [f"a@{d}"], body(f"rpt-{d}")) for d in DOMAINS}
        for d in DOMAINS:
            wait_outcomes(s, lambda ev: ev, 20, mid=ids[d])

        status = json.loads(s.cli("tls", "report", "status", "--json").stdout)
        assert status["domains"]["ok.example"] == {"successful": 1, "failed": 0}, status
        assert status["domains"]["testing.example"]["failed"] >= 1, status

        sent = json.loads(s.cli("tls", "report", "send", "--json").stdout)
        assert sent["sending"] == len(DOMAINS), sent
        by_mail = set(DOMAINS) - {"ok.example"}
        got = dict(parse_report(m) for m in reports.wait_messages(len(by_mail), 20))
        assert set(got) == by_mail, sorted(got)
        for m in reports.messages:
            assert m.mail_from in ("", "<>"), m.mail_from  # the null sender
            assert dkim.verify(m.content, dnsfunc=dkimpy_dns(mx_lab)), m.content[:2000]
            assert f"d={SUBMITTER};".encode() in m.content.replace(b" ", b"")
        # §5.4: ok.example asked for HTTPS: a POST of the gzip report.
        wait_until(lambda: collector.posts, 20, what="the report POSTed")
        [(path, ctype, data)] = collector.posts
        assert (path, ctype) == ("/tlsrpt", "application/tlsrpt+gzip")
        got["ok.example"] = json.loads(gzip.decompress(data))
        jsonschema.validate(got["ok.example"], SCHEMA)

        # enforce, verified: one success, the policy as the domain published it.
        ok = policy_of(got["ok.example"], "sts")
        assert ok["summary"] == {"total-successful-session-count": 1,
                                 "total-failure-session-count": 0}, ok
        assert "mode: enforce" in ok["policy"]["policy-string"], ok
        assert ok["policy"]["mx-host"] == ["mx1.ok.example"], ok
        assert ok["policy"]["policy-domain"] == "ok.example"
        # testing: the self-signed certificate failed, the mail went anyway.
        testing = policy_of(got["testing.example"], "sts")
        assert testing["summary"]["total-failure-session-count"] >= 1, testing
        [detail] = testing["failure-details"]
        assert detail["result-type"] == "certificate-not-trusted", detail
        assert detail["receiving-mx-hostname"] == "mx1.testing.example"
        assert detail["receiving-ip"] == sinks["testing.example"].address
        # enforce, expired certificate: failures, no success.
        badcert = policy_of(got["badcert.example"], "sts")
        assert badcert["summary"]["total-successful-session-count"] == 0, badcert
        assert ("certificate-expired", "mx1.badcert.example") in failures(badcert), badcert
        # enforce, the MX is not one the policy names.
        unnamed = policy_of(got["unnamed.example"], "sts")
        assert ("validation-failure", "mx1.unnamed.example") in failures(unnamed), unnamed
        # The policy host's certificate failed: an MTA-STS failure, and then
        # no policy, delivered over TLS.
        fetch = policy_of(got["badhost.example"], "sts")
        assert ("sts-webpki-invalid", None) in failures(fetch), fetch
        nopolicy = policy_of(got["badhost.example"], "no-policy-found")
        assert nopolicy["summary"]["total-successful-session-count"] >= 1, nopolicy

        # Sent once: a second send has nothing of that day left to send.
        status = json.loads(s.cli("tls", "report", "status", "--json").stdout)
        assert status["waiting"] == 0, status
        assert "ok.example" not in status["domains"], status
    finally:
        collector.stop()
