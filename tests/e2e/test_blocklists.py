"""Blocklist (DNSBL) monitoring ([blocklists]): each egress source address is
looked up in the configured lists (RFC 5782: the address's octets reversed
under the list's zone; an A answer in 127.0.0.0/8 is a listing, the TXT
record at the same name its reason).

A local DNS server answers as a blocklist for one of two sources (127.0.0.2
with a TXT reason): the listing is a BlocklistChanged record and a metric;
with take_out_of_pools the source leaves its pool (an Automation record) and
mail goes out from the other; once delisted it comes back.
"""

import urllib.request

from mx import inject_pipelined, wait_until
from test_http_api import call, make_key
from test_tenants import tagged

LISTED, OTHER = "127.0.0.71", "127.0.0.72"
QUERY = "71.0.0.127.bl.test"
REASON = "Listed for spam trap hits: see https://bl.test/q?127.0.0.71"
SOURCES = {
    "source": [
        {"name": "s71", "address": LISTED, "ehlo_name": "s71.sluice.test"},
        {"name": "s72", "address": OTHER, "ehlo_name": "s72.sluice.test"},
    ],
}


def events_of(s, kind):
    return [e for e in s.events() if e["type"] == kind]


def listed_metric(s, subject):
    with urllib.request.urlopen(f"http://127.0.0.1:{s.ports['api']}/metrics", timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith("sluice_blocklist_listed{") and f'subject="{subject}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def start(mx_lab, delivering_sluiced, take_out):
    sink = mx_lab.sink("mx1")
    dns = mx_lab.dns
    dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    dns.a(QUERY, "127.0.0.2").txt(QUERY, REASON)
    dns.start()
    s = delivering_sluiced(config={
        "egress": SOURCES,
        "blocklists": {"interval": "1s", "lists": [],
                       "custom": [{"name": "local", "zone": "bl.test", "kind": "ip",
                                   "take_out_of_pools": take_out}]},
    })
    return s, sink


def test_a_listed_source_leaves_its_pool_until_delisted(mx_lab, delivering_sluiced):
    s, sink = start(mx_lab, delivering_sluiced, take_out=True)
    wait_until(lambda: [e for e in events_of(s, "Automation") if e["egress_source"] == LISTED],
               30, what="the listing and its automation")
    [listing] = events_of(s, "BlocklistChanged")
    assert listing["list"] == "local" and listing["zone"] == "bl.test"
    assert listing["subject"] == LISTED and listing["listed"] is True
    assert listing["codes"] == ["127.0.0.2"] and listing["reason"] == REASON
    assert listing["out_of_pools"] is True
    [taken] = [e for e in events_of(s, "Automation") if e["egress_source"] == LISTED]
    assert taken["rule"] == "blocklist local" and taken["action"] == "take source out of pools"
    assert taken["until"] is None
    assert listed_metric(s, LISTED) == 1 and listed_metric(s, OTHER) == 0
    key = make_key(s)["key"]
    st, body, _ = call(s, "GET", "/api/v1/health/blocklists", key=key)
    assert st == 200 and body["out_of_pools"] == [LISTED], body
    assert {(l["subject"], l["status"]) for l in body["listings"]} == \
        {(LISTED, "listed"), (OTHER, "clear")}
    out = s.cli("health", "blocklists").stdout
    assert "LISTED" in out and REASON in out and f"{LISTED} is out of its pools" in out, out

    # Mail goes out from the other source only.
    inject_pipelined(s, [("sender@src.example", [f"a{i}@dest.example"], tagged(f"a{i}"))
                         for i in range(6)])
    got = sink.wait_messages(6, timeout=30)
    assert {m.peer[0] for m in got} == {OTHER}

    # Delisted: the source is back in its pool, and mail uses both again.
    mx_lab.dns.remove(QUERY).restart()
    wait_until(lambda: len([e for e in events_of(s, "Automation")
                            if e["egress_source"] == LISTED]) == 2, 30, what="the delisting")
    delisting = events_of(s, "BlocklistChanged")[1]
    assert delisting["listed"] is False and delisting["out_of_pools"] is False
    assert any(e["action"] == "put source back in pools" and e["egress_source"] == LISTED
               for e in events_of(s, "Automation"))
    assert listed_metric(s, LISTED) == 0
    inject_pipelined(s, [("sender@src.example", [f"b{i}@dest.example"], tagged(f"b{i}"))
                         for i in range(6)])
    got = sink.wait_messages(12, timeout=30)
    assert LISTED in {m.peer[0] for m in got[6:]}


def test_a_listing_is_reported_without_touching_the_pools_unless_asked(mx_lab,
                                                                         delivering_sluiced):
    s, sink = start(mx_lab, delivering_sluiced, take_out=False)
    wait_until(lambda: events_of(s, "BlocklistChanged"), 30, what="the listing")
    assert events_of(s, "BlocklistChanged")[0]["out_of_pools"] is False
    assert not [e for e in events_of(s, "Automation") if e["egress_source"] == LISTED]
    inject_pipelined(s, [("sender@src.example", [f"c{i}@dest.example"], tagged(f"c{i}"))
                         for i in range(6)])
    got = sink.wait_messages(6, timeout=30)
    assert {m.peer[0] for m in got} == {LISTED, OTHER}
