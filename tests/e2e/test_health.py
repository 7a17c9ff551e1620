"""Scheduled health checks ([health]): the doctor's DNS checks of every
sending domain run again and again; a change of result is a HealthChanged
record and a metric, and `sluice health` and GET /api/v1/health/domains show
the state with the record to publish for each failure.

The zones are served by dnsmasq on loopback and changed between two runs
(restarted on the same port with other records). A DKIM key configured to
take over in three days whose record is not out yet fails now (RFC 6376 §3.1:
a rotation is a new selector, published ahead), one due in a month only warns.
"""

import datetime
import json
import urllib.request

from mx import wait_until
from test_doctor import keygen
from test_http_api import call, make_key

DOMAIN = "watched.example"
EGRESS = "127.0.0.60"
EHLO = "out.watched.example"
GOOD_SPF = f"v=spf1 ip4:{EGRESS} -all"


def day(offset):
    d = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=offset)
    return d.strftime("%Y-%m-%d")


def serve_healthy_zone(dns, dkim_record):
    """DOMAIN with MX, SPF for EGRESS, DMARC, selector s1 and EHLO's address."""
    dns.mx(DOMAIN, f"mx.{DOMAIN}", 10).a(f"mx.{DOMAIN}", "127.0.0.50")
    dns.txt(DOMAIN, GOOD_SPF)
    dns.txt(f"_dmarc.{DOMAIN}", f"v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}")
    dns.txt(f"s1._domainkey.{DOMAIN}", dkim_record)
    dns.a(EHLO, EGRESS)
    return dns.start()


def health_events(s):
    return [e for e in s.events() if e["type"] == "HealthChanged"]


def state(s, key):
    st, body, _ = call(s, "GET", "/api/v1/health/domains", key=key)
    assert st == 200, body
    return {(d["domain"], c["name"]): c for d in body["domains"] for c in d["checks"]}


def metric(s, domain, check):
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['api']}/metrics", timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith("sluice_health_check_status{") and \
                f'domain="{domain}"' in line and f'check="{check}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_zone_changes_between_runs_are_events_and_state(mx_lab, delivering_sluiced, tmp_path):
    current, current_record = keygen(tmp_path, DOMAIN, "s1")
    soon, soon_record = keygen(tmp_path, DOMAIN, "s2")
    later, _ = keygen(tmp_path, DOMAIN, "s3")
    dns = serve_healthy_zone(mx_lab.dns, current_record)
    s = delivering_sluiced(
        delivery={"ehlo_name": EHLO, "source_address": EGRESS},
        config={
            "health": {"interval": "1s"},
            # A tenant's own sending domains are watched too.
            "tenant": {"acme": {"domains": ["brand.example"]}},
            "dkim": {"domain": [{"domain": DOMAIN, "key": [
                {"selector": "s1", "key_file": str(current)},
                {"selector": "s2", "key_file": str(soon), "valid_from": day(3)},
                {"selector": "s3", "key_file": str(later), "valid_from": day(30)},
            ]}]},
        })
    key = make_key(s)["key"]

    # The first run: what passes is quiet, what does not is news.
    wait_until(lambda: (DOMAIN, "spf " + EGRESS) in state(s, key), 30, what="a first run")
    first = state(s, key)
    assert first[(DOMAIN, "spf " + EGRESS)]["status"] == "pass"
    wait_until(lambda: ("brand.example", "spf") in state(s, key), 30, what="the tenant's domain")
    assert state(s, key)[("brand.example", "spf")]["status"] == "fail"  # no SPF record there
    assert first[(DOMAIN, "dkim s1")]["status"] == "pass"
    assert first[(DOMAIN, "ptr " + EGRESS)]["status"] == "pass"
    # The next key takes over in 3 days and is not published: a failure now,
    # with the record to publish; the one after (30 days) only warns.
    s2 = first[(DOMAIN, "dkim s2")]
    assert s2["status"] == "fail", s2
    assert "next key" in s2["detail"] and day(3) in s2["detail"], s2
    assert soon_record in s2["fix"] and f"s2._domainkey.{DOMAIN}" in s2["fix"], s2
    assert first[(DOMAIN, "dkim s3")]["status"] == "warn"
    news = {(e["check"], e["status"]) for e in health_events(s)}
    assert ("dkim s2", "fail") in news and ("dkim s3", "warn") in news, news
    assert not any(status == "pass" for _, status in news), news
    assert metric(s, DOMAIN, "dkim s2") == 2
    assert metric(s, DOMAIN, "spf " + EGRESS) == 0

    # The zone changes: SPF no longer names the egress address, s1's record
    # is gone, s2's is published.
    dns.replace_txt(DOMAIN, "v=spf1 ip4:127.0.0.99 -all")
    dns.replace_txt(f"s1._domainkey.{DOMAIN}", None)
    dns.replace_txt(f"s2._domainkey.{DOMAIN}", soon_record)
    dns.restart()

    def changed(check, previous, status):
        return any(e["domain"] == DOMAIN and e["check"] == check and e["previous"] == previous
                   and e["status"] == status for e in health_events(s))

    wait_until(lambda: changed("spf " + EGRESS, "pass", "fail") and
               changed("dkim s1", "pass", "fail") and changed("dkim s2", "fail", "pass"),
               30, what="HealthChanged records for the zone change")
    now = state(s, key)
    assert now[(DOMAIN, "spf " + EGRESS)]["status"] == "fail"
    assert f"ip4:{EGRESS}" in now[(DOMAIN, "spf " + EGRESS)]["fix"]
    assert now[(DOMAIN, "dkim s1")]["fix"].startswith("publish: s1._domainkey.")
    assert metric(s, DOMAIN, "spf " + EGRESS) == 2
    assert metric(s, DOMAIN, "dkim s2") == 0
    # Once changed, a result that stays is not news again.
    count = len(health_events(s))
    seen = checked_at(s, key)
    wait_until(lambda: checked_at(s, key) > seen, 30, what="another run")
    assert len(health_events(s)) == count

    # The operator's view from the command line: failures and their fixes.
    out = s.cli("health").stdout
    assert f"{DOMAIN}" in out and "FAIL" in out and "To fix:" in out, out
    assert f"s1._domainkey.{DOMAIN}. IN TXT" in out, out
    as_json = json.loads(s.cli("health", "--json").stdout)
    assert any(d["domain"] == DOMAIN and d["failed"] for d in as_json["domains"])

    # Back as it was: the failures recover, and say so.
    dns.replace_txt(DOMAIN, GOOD_SPF)
    dns.replace_txt(f"s1._domainkey.{DOMAIN}", current_record)
    dns.restart()
    wait_until(lambda: changed("spf " + EGRESS, "fail", "pass") and
               changed("dkim s1", "fail", "pass"), 30, what="recovery records")
    assert metric(s, DOMAIN, "spf " + EGRESS) == 0


def checked_at(s, key):
    st, body, _ = call(s, "GET", "/api/v1/health/domains", key=key)
    return next(d["checked_at"] for d in body["domains"] if d["domain"] == DOMAIN)


def test_a_dns_outage_keeps_the_last_known_state(mx_lab, delivering_sluiced, tmp_path):
    """A SERVFAIL says nothing of a record: no check flips to failing."""
    pem, record = keygen(tmp_path, DOMAIN, "s1")
    dns = serve_healthy_zone(mx_lab.dns, record)
    s = delivering_sluiced(
        delivery={"ehlo_name": EHLO, "source_address": EGRESS},
        config={"health": {"interval": "1s"},
                "dkim": {"domain": [{"domain": DOMAIN,
                                     "key": [{"selector": "s1", "key_file": str(pem)}]}]}})
    key = make_key(s)["key"]
    wait_until(lambda: state(s, key).get((DOMAIN, "dkim s1"), {}).get("status") == "pass", 30,
               what="a first run")
    dns.stop()
    wait_until(lambda: any(c["stale"] for c in state(s, key).values()), 60,
               what="a run without DNS")
    after = state(s, key)
    assert after[(DOMAIN, "dkim s1")]["status"] == "pass", after
    assert after[(DOMAIN, "spf " + EGRESS)]["status"] == "pass", after
    assert not [e for e in health_events(s) if e["status"] == "fail"], health_events(s)
