"""GET /metrics: the counters and gauges move exactly with what happens.

Prometheus text exposition format 0.0.4, parsed here by the reference parser
(Debian's python3-prometheus-client). docs/metrics.md and the endpoint list
the same metric families with the same types.
"""

import http.client
import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mx import body, inject, wait_outcomes, wait_until
from smtp_client import connect

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "metrics.md"
DASHBOARD = ROOT / "etc" / "grafana" / "sluice.json"


def scrape(s, key=None):
    c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + key} if key else {})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), text


def families(text):
    """{name: (type, [(sample name, labels, value)])}; counters keep their _total name."""
    out = {}
    for f in text_string_to_metric_families(text):
        name = f.name + "_total" if f.type == "counter" else f.name
        out[name] = (f.type, [(s.name, s.labels, s.value) for s in f.samples])
    return out


def value(fams, family, sample=None, **labels):
    """The sum of the samples of `family` (sample name `sample`, default the
    family's own) whose labels include `labels`."""
    _, samples = fams[family]
    sample = sample or family
    return sum(v for n, ls, v in samples
               if n == sample and all(ls.get(k) == want for k, want in labels.items()))


def documented():
    out = {}
    for m in re.finditer(r"^\| `(sluice_[a-z_]+)` \| (counter|gauge|histogram) \|", DOC.read_text(),
                         re.M):
        out[m.group(1)] = m.group(2)
    return out


def test_grafana_dashboard_queries_documented_metrics():
    dash = json.loads(DASHBOARD.read_text())
    docs = documented()
    used = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            for name in re.findall(r"\bsluice_[a-z_]+", target["expr"]):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                assert base in docs, f"panel {panel['title']!r} queries {name}, not in docs/metrics.md"
                used.add(base)
    # Rates per provider, queue depth, latency quantiles, warm-up per source.
    assert {"sluice_delivery_outcomes_total", "sluice_queued_items", "sluice_reception_seconds",
            "sluice_warmup_sent_today"} <= used


def test_documented_metrics_are_exactly_those_exposed(sluiced):
    status, ctype, text = scrape(sluiced)
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    exposed = {name: t for name, (t, _) in families(text).items()}
    docs = documented()
    assert docs, "no metric table in docs/metrics.md"
    assert exposed == docs


def test_counters_and_gauges_follow_accepted_deferred_and_rejected_mail(mx_lab,
                                                                        delivering_sluiced):
    ok = mx_lab.sink("mx1", reject_rcpts={"bad@dest.example"})
    slow = mx_lab.sink("mx2", defer_all=True)
    (mx_lab.dns
     .mx("dest.example", "mx1.dest.example").a("mx1.dest.example", ok.address)
     .mx("slow.example", "mx2.slow.example").a("mx2.slow.example", slow.address))
    # One attempt each within the test: the deferred message's retry is far off.
    s = delivering_sluiced(queue={"first_retry": "1h"})
    before = families(scrape(s)[2])
    assert value(before, "sluice_receptions_total") == 0

    # The null sender: no report goes back to add outcomes of its own.
    delivered = inject(s, "", ["good@dest.example"], body("m-ok"))
    bounced = inject(s, "", ["bad@dest.example"], body("m-bad"))
    deferred = inject(s, "", ["later@slow.example", "soon@slow.example"], body("m-later"))
    for qid in (delivered, bounced, deferred):
        wait_outcomes(s, lambda ev: ev, 15, mid=qid)
    # Refusals: MAIL without AUTH on submission; a NUL octet in the data.
    with connect(s.port("submission")) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@src.example>").code == 530
        c.cmd("QUIT")
    with connect(s.port("relay")) as c:
        c.ehlo()
        c.expect("MAIL FROM:<a@src.example>", 250)
        c.expect("RCPT TO:<x@dest.example>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: nul\r\n\r\nbad \x00 octet\r\n.\r\n")
        assert c.reply().code == 554
        c.cmd("QUIT")

    status, _, text = scrape(s)
    assert status == 200
    m = families(text)
    assert value(m, "sluice_receptions_total", listener="relay", result="accepted") == 3
    assert value(m, "sluice_receptions_total", listener="submission", result="refused",
                 reason="mail:5.7.0") == 1
    assert value(m, "sluice_receptions_total", listener="relay", result="refused",
                 reason="data:5.6.0") == 1
    out = "sluice_delivery_outcomes_total"
    assert value(m, out, outcome="delivery", provider="other", tenant="", campaign="") == 1
    assert value(m, out, outcome="bounce") == 1
    assert value(m, out, outcome="transient_failure") == 2
    [ev] = [e for e in s.events() if e.get("type") == "Delivery"]
    # Outcome records carry the message's own Message-ID and the provider.
    assert (ev["message_id"], ev["provider"]) == ("<m-ok@sluice.test>", "other"), ev
    assert value(m, out, outcome="delivery", source=ev["egress_source"] or "") == 1
    assert value(m, "sluice_failure_classes_total", outcome="bounce", **{"class": "bad-mailbox"}) == 1
    assert value(m, "sluice_delivery_latency_seconds", "sluice_delivery_latency_seconds_count",
                 provider="other") == 1
    assert value(m, "sluice_delivery_attempt_seconds", "sluice_delivery_attempt_seconds_count") == 3
    assert value(m, "sluice_message_size_bytes", "sluice_message_size_bytes_count",
                 listener="relay") == 3
    assert value(m, "sluice_reception_seconds", "sluice_reception_seconds_count",
                 listener="relay") == 3
    # Histograms: the +Inf bucket is the count; the spool synced each store.
    assert value(m, "sluice_reception_seconds", "sluice_reception_seconds_bucket",
                 listener="relay", le="+Inf") == 3
    assert value(m, "sluice_spool_sync_batch_size", "sluice_spool_sync_batch_size_sum") >= 3
    assert value(m, "sluice_outbound_connections_total", result="opened") >= 2
    assert value(m, "sluice_outbound_tls_total", version="none") >= 2
    # The deferred message is the only one queued, and has been for a while.
    assert value(m, "sluice_queued_items", tenant="", provider="other") == 1
    assert value(m, "sluice_queued_recipients", tenant="", provider="other") == 2
    assert value(m, "sluice_queued_messages") == 1
    assert value(m, "sluice_queue_oldest_age_seconds") > 0
    assert value(m, "sluice_spool_disk_bytes") > 0
    assert value(m, "sluice_spool_free_disk_bytes") > 0
    written = sum(1 for _ in s.events())
    assert value(m, "sluice_event_log_records_total") >= written - 1
    assert value(m, "sluice_event_log_dropped_total") == 0

    # An operator bounce moves the deferred message out: the gauges follow.
    assert s.cli("queue", "bounce", "slow.example").returncode == 0
    wait_until(lambda: any(e.get("type") == "AdminBounce" and e.get("id") == deferred
                           for e in s.events()), 10, interval=0.05, what="the AdminBounce event")
    m = wait_until(lambda: (lambda f: f if value(f, "sluice_queued_items") == 0 else None)(
        families(scrape(s)[2])), 10, interval=0.1, what="the queue gauge to fall to 0")
    assert value(m, out, outcome="admin_bounce") == 2
    assert value(m, "sluice_queued_recipients") == 0
    assert value(m, "sluice_queued_messages") == 0
    assert value(m, "sluice_queue_oldest_age_seconds") == 0


def test_label_values_past_the_cap_fold_into_other(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example").a("mx1.dest.example", sink.address)
    s = delivering_sluiced(config={"metrics": {"max_label_values": 2}})
    ids = [inject(s, "sender@src.example", [f"r{i}@dest.example"],
                  body(f"cap-{i}", extra_headers=f"X-Campaign: camp{i}\r\n")) for i in range(5)]
    for qid in ids:
        wait_outcomes(s, lambda evs: any(e["type"] == "Delivery" for e in evs), 15, mid=qid)
    m = families(scrape(s)[2])
    campaigns = {ls["campaign"]: v for n, ls, v in m["sluice_delivery_outcomes_total"][1]}
    assert len(campaigns) == 3, campaigns
    assert campaigns.get("other") == 3, campaigns
    assert sum(campaigns.values()) == 5


def test_require_key_takes_an_operator_key(sluiced_factory):
    s = sluiced_factory(config={"metrics": {"require_key": True}})
    op = json.loads(s.cli("key", "create", "--json").stdout)["key"]
    tenant = json.loads(s.cli("key", "create", "--json", "acme").stdout)["key"]
    assert scrape(s)[0] == 401
    assert scrape(s, tenant)[0] == 403
    status, _, text = scrape(s, op)
    assert status == 200 and "sluice_receptions_total" in text


def test_disabled_metrics_are_not_served(sluiced_factory):
    s = sluiced_factory(config={"metrics": {"enabled": False}})
    assert scrape(s)[0] == 404


def test_http_injections_refused_whole_are_counted(sluiced):
    key = json.loads(sluiced.cli("key", "create", "--json").stdout)["key"]
    c = http.client.HTTPConnection("127.0.0.1", sluiced.ports["api"], timeout=10)
    c.request("POST", "/api/v1/messages", body=json.dumps({"from": "x"}),
              headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    assert r.status == 400
    m = families(scrape(sluiced)[2])
    assert value(m, "sluice_receptions_total", listener="api", result="refused",
                 reason="api:400") == 1
