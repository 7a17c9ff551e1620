"""Statistics over time: GET /api/v1/stats.

Known traffic (taken, delivered, deferred once, refused with two bounce
classes at scripted sinks, for two tenants) gives exactly the counters the
event log says, per minute and per group; hours and days sum the same rows;
a tenant's key sees its own tenant's counts only; bad questions get a 400
that says what is wrong.
"""

import collections
import datetime
import urllib.parse

from mx import wait_outcomes
from test_http_api import call, inject, make_key

GROUPS = ("tenant", "domain")


def minute_of(ts):
    t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return t.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_from_events(events):
    """{(tenant, domain): {minute: Counter(metric)}} as the event log tells it."""
    out = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    # Sluice's own mail (DSNs, TLS reports) is not counted.
    own = {e["id"] for e in events if e["type"] == "Reception" and e["listener"] in ("dsn", "report")}
    for e in events:
        kind = e["type"]
        if e.get("id") in own:
            continue
        if kind == "Reception":
            for r in e["recipients"]:
                out[(e["tenant"] or "", r.split("@")[1])][minute_of(e["timestamp"])]["received"] += 1
            continue
        metric = {"Delivery": "delivered", "TransientFailure": "deferred",
                  "Bounce": "bounced", "Suppressed": "suppressed"}.get(kind)
        if metric is None:
            continue
        c = out[(e["tenant"] or "", e["recipient"].split("@")[1])][minute_of(e["timestamp"])]
        c[metric] += 1
        if kind == "Bounce":
            c["bounced." + e["bounce"]["class"]] += 1
            c["bounced_hard"] += 1 if e["bounce"]["hard"] else 0
    return out


def stats(s, key, **params):
    st, body, _ = call(s, "GET", "/api/v1/stats?" + urllib.parse.urlencode(params), key=key)
    return st, body


def by_group(answer, dims=GROUPS):
    return {tuple(series["group"][d] for d in dims): series for series in answer["series"]}


def test_known_traffic_gives_exact_counters(mx_lab, delivering_sluiced):
    ok = mx_lab.sink("ok")
    slow = mx_lab.sink("slow")
    slow.defer_first = 1
    gone = mx_lab.sink("gone", reject_rcpts=True)
    full = mx_lab.sink("full", reject_rcpts=True,
                       reject_reply="552 5.2.2 <{addr}>: Mailbox full, over quota")
    for domain, sink in (("ok", ok), ("slow", slow), ("gone", gone), ("full", full)):
        mx_lab.dns.mx(f"{domain}.example", f"mx.{domain}.example", 10).a(
            f"mx.{domain}.example", sink.address)
    s = delivering_sluiced()
    operator = make_key(s)["key"]
    acme = make_key(s, "acme")["key"]
    beta = make_key(s, "beta")["key"]
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)

    for rcpts, key, extra in (
            (["a@ok.example", "b@ok.example", "c@ok.example"], acme, {"campaign": "spring"}),
            (["a@gone.example"], acme, {"campaign": "spring"}),
            (["a@slow.example"], acme, {}),
            (["d@ok.example", "e@ok.example"], beta, {}),
            (["a@full.example"], beta, {})):
        st, body, _ = inject(s, key, rcpts, **extra)
        assert st == 202, body
    # 6 delivered (one after a deferral), 2 bounced: every recipient's end.
    ends = {"a@ok.example", "b@ok.example", "c@ok.example", "a@gone.example", "a@slow.example",
            "d@ok.example", "e@ok.example", "a@full.example"}
    wait_outcomes(s, lambda evs: ends <= {e["recipient"] for e in evs
                                          if e["type"] in ("Delivery", "Bounce")}, 30)
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    rng = {"from": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "to": end.strftime("%Y-%m-%dT%H:%M:%SZ")}

    # Per minute and (tenant, domain): exactly what the event log says.
    st, answer = stats(s, operator, step="minute", group_by="tenant,domain", **rng)
    assert st == 200, answer
    assert answer["resolution"] == "minute" and answer["step"] == 60
    expected = expected_from_events(s.events())
    got = by_group(answer)
    assert set(got) == set(expected), (got.keys(), expected.keys(), s.events())
    for group, minutes in expected.items():
        series = got[group]
        for metric, values in series["values"].items():
            want = [minutes.get(b, {}).get(metric, 0) for b in answer["buckets"]]
            assert values == want, (group, metric, values, want)

    totals = {g: series["totals"] for g, series in got.items()}
    assert totals[("acme", "ok.example")]["received"] == 3
    assert totals[("acme", "ok.example")]["delivered"] == 3
    assert totals[("acme", "gone.example")]["bounced.bad-mailbox"] == 1
    assert totals[("acme", "gone.example")]["bounced_hard"] == 1
    assert totals[("acme", "slow.example")]["deferred"] == 1
    assert totals[("acme", "slow.example")]["delivered"] == 1
    assert totals[("beta", "ok.example")]["delivered"] == 2
    assert totals[("beta", "full.example")]["bounced.quota"] == 1
    assert totals[("beta", "full.example")]["bounced_hard"] == 0

    # Hours and days hold the same counts; a filter keeps its rows only.
    st, hourly = stats(s, operator, step="hour", group_by="campaign",
                       metrics="delivered,bounced", tenant="acme", **rng)
    assert st == 200 and hourly["resolution"] == "hour" and hourly["metrics"] == [
        "delivered", "bounced"], hourly
    camp = by_group(hourly, ("campaign",))
    assert camp[("spring",)]["totals"] == {"delivered": 3, "bounced": 1}
    assert camp[("",)]["totals"] == {"delivered": 1, "bounced": 0}
    st, daily = stats(s, operator, step="day", group_by="tenant", metrics="received,delivered",
                      **rng)
    assert st == 200 and daily["resolution"] == "day", daily
    days = by_group(daily, ("tenant",))
    assert days[("acme",)]["totals"] == {"received": 5, "delivered": 4}
    assert days[("beta",)]["totals"] == {"received": 3, "delivered": 2}

    # A tenant's key: its own counts, never another's.
    st, own = stats(s, acme, group_by="tenant", metrics="delivered", **rng)
    assert st == 200 and [x["group"] for x in own["series"]] == [{"tenant": "acme"}], own
    assert own["series"][0]["totals"] == {"delivered": 4}
    assert stats(s, acme, tenant="beta", **rng)[0] == 403

    # Bad questions say what is wrong.
    for params, words in (({"step": "90s"}, "step"), ({"group_by": "colour"}, "colour"),
                          ({"metrics": "nope"}, "nope"), ({"from": "yesterday"}, "from"),
                          ({"step": "minute", "from": "2026-01-01T00:00:00Z"}, "steps"),
                          ({"limit": "0"}, "limit")):
        st, body = stats(s, operator, **params)
        assert st == 400 and words in body["error"]["message"], (params, body)
    assert call(s, "POST", "/api/v1/stats", {}, key=operator)[0] == 405
    assert stats(s, None)[0] == 401
