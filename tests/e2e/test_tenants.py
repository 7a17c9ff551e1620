"""Tenants and campaigns: mail names its tenant (X-Tenant from a relay client,
or the tenant an authenticated user is configured to send as) and its campaign
(X-Campaign). They pick the egress pool ([[egress.pool]], [tenant.NAME]),
name the queue ("campaign:tenant@domain"), and a shaping rule with a scope
can suspend one tenant or campaign on a site while the rest keeps flowing.
Also here: named warm-up plans shared by sources, and a warm-up allowance
that counts mail the receiver accepted."""

import json
import subprocess
import time

from conftest import PASSWORD, SLUICED, default_config, to_toml
from mx import body, inject_pipelined, stays_true, wait_until
from smtp_client import connect, plain_response
from test_http_api import call, make_key


def tagged(tag, tenant=None, campaign=None):
    extra = ""
    if tenant:
        extra += f"X-Tenant: {tenant}\r\n"
    if campaign:
        extra += f"X-Campaign: {campaign}\r\n"
    return body(tag, extra_headers=extra)


def subject(msg):
    return msg.header("Subject")


def defer_once(sink, tag, reply):
    """The sink answers `reply` to the first message with Subject `tag`."""
    first = {"done": False}

    def reply_for(msg):
        if not first["done"] and subject(msg) == tag:
            first["done"] = True
            return reply
        return None

    sink.reply_for = reply_for


def deliveries(s, n):
    return wait_until(lambda: (lambda d: d if len(d) >= n else None)(
        [e for e in s.events() if e["type"] == "Delivery"]), 15)


POOLS = {
    "source": [
        {"name": "a", "address": "127.0.0.81", "ehlo_name": "a.sluice.test"},
        {"name": "b", "address": "127.0.0.82", "ehlo_name": "b.sluice.test"},
        {"name": "c", "address": "127.0.0.83", "ehlo_name": "c.sluice.test"},
    ],
    "pool": [
        {"name": "shared", "sources": ["a"]},
        {"name": "bulk", "sources": ["b", "c"], "weights": [1, 1]},
        {"name": "warm", "sources": ["c"]},
    ],
    "default_pool": "shared",
}


def test_tenants_and_campaigns_go_out_from_their_pools(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("pools.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(config={
        "egress": POOLS,
        "tenant": {"acme": {"pool": "bulk", "campaign": {"spring": {"pool": "warm"}}},
                   "beta": {}},
    })
    messages = (
        [(f"plain-{i}", None, None) for i in range(3)]
        + [(f"beta-{i}", "beta", None) for i in range(3)]     # no pool of its own
        + [(f"acme-{i}", "acme", None) for i in range(6)]
        + [(f"spring-{i}", "acme", "spring") for i in range(3)]
        + [(f"summer-{i}", "acme", "summer") for i in range(2)]  # campaign without a pool
    )
    inject_pipelined(s, [("sender@src.example", [f"{tag}@pools.example"],
                          tagged(tag, tenant, campaign))
                         for tag, tenant, campaign in messages])
    msgs = sink.wait_messages(len(messages), timeout=30)
    peer = {subject(m): m.peer[0] for m in msgs}
    for tag, _, _ in messages:
        group = tag.split("-")[0]
        want = {"plain": {"127.0.0.81"}, "beta": {"127.0.0.81"},
                "acme": {"127.0.0.82", "127.0.0.83"}, "summer": {"127.0.0.82", "127.0.0.83"},
                "spring": {"127.0.0.83"}}[group]
        assert peer[tag] in want, (tag, peer[tag])
    # The pool's weights (1:1) split its 8 messages (acme's and its summer
    # campaign's, which has no pool of its own) evenly.
    bulk = [peer[f"acme-{i}"] for i in range(6)] + [peer[f"summer-{i}"] for i in range(2)]
    assert bulk.count("127.0.0.82") == 4 and bulk.count("127.0.0.83") == 4, bulk
    # The control fields steered delivery and did not travel on.
    for m in msgs:
        assert m.header("X-Tenant") is None and m.header("X-Campaign") is None, subject(m)
    # Events name the queue, tenant and campaign.
    by_rcpt = {e["recipient"]: e for e in deliveries(s, len(messages))}
    e = by_rcpt["spring-0@pools.example"]
    assert (e["queue"], e["tenant"], e["campaign"]) == ("spring:acme@pools.example", "acme",
                                                       "spring"), e
    e = by_rcpt["beta-0@pools.example"]
    assert (e["queue"], e["tenant"], e["campaign"]) == ("beta@pools.example", "beta", None), e
    e = by_rcpt["plain-0@pools.example"]
    assert (e["queue"], e["tenant"]) == ("pools.example", None), e
    receptions = {r["recipients"][0]: r for r in s.events() if r["type"] == "Reception"}
    assert receptions["summer-1@pools.example"]["campaign"] == "summer"


def test_an_authenticated_user_sends_as_its_configured_tenant(mx_lab, delivering_sluiced):
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("auth.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(
        config={"egress": POOLS, "tenant": {"acme": {"users": ["alice"], "pool": "warm"}}},
        listener_opts={"submission": {"allow_plaintext_auth": True}},
        users={"alice": PASSWORD})
    with connect(s.port("submission")) as c:
        c.ehlo()
        c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
        c.expect("MAIL FROM:<alice@src.example>", 250)
        c.expect("RCPT TO:<u@auth.example>", 250)
        c.expect("DATA", 354)
        # Its X-Tenant names another tenant: the configured one wins.
        c.send(tagged("auth-1", tenant="beta", campaign="launch") + ".\r\n")
        assert c.reply().code == 250
        c.cmd("QUIT")
    [m] = sink.wait_messages(1, timeout=15)
    assert m.peer[0] == "127.0.0.83"  # acme's pool
    [e] = deliveries(s, 1)
    assert e["queue"] == "launch:acme@auth.example", e


def test_a_relay_network_can_belong_to_a_tenant(mx_lab, delivering_sluiced):
    # The test client connects from 127.0.0.1: that network is acme's, so its
    # X-Tenant does not choose; its X-Campaign still tags the campaign.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("net.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(config={
        "egress": POOLS,
        # The most specific network decides, whatever the order.
        "tenant": {"other": {"networks": ["127.0.0.0/8"]},
                   "acme": {"networks": ["127.0.0.1/32"], "pool": "warm"}}})
    inject_pipelined(s, [("sender@src.example", ["u@net.example"],
                          tagged("net-1", tenant="beta", campaign="launch"))])
    [m] = sink.wait_messages(1, timeout=15)
    assert m.peer[0] == "127.0.0.83" and m.header("X-Tenant") is None
    [e] = deliveries(s, 1)
    assert e["queue"] == "launch:acme@net.example", e


def test_a_malformed_tenant_or_campaign_is_refused(sluiced_factory):
    s = sluiced_factory()
    for field in ("X-Tenant: two words", "X-Campaign: caf\u00e9"):
        with connect(s.port("relay")) as c:
            c.ehlo()
            c.expect("MAIL FROM:<sender@src.example>", 250)
            c.expect("RCPT TO:<u@dest.example>", 250)
            c.expect("DATA", 354)
            c.send(body("bad", extra_headers=field + "\r\n") + ".\r\n")
            r = c.reply()
            assert r.code == 554 and r.enhanced == "5.6.0", (field, r)
            assert field.split(":")[0] in r.text
            c.cmd("QUIT")
    assert s.spool_count() == 0


BLOCK = "451 4.7.1 [TENANT-BLOCK] Too many complaints about this sender"


def test_a_tenant_rule_suspends_that_tenant_only(mx_lab, delivering_sluiced, tmp_path):
    # The receiver defers acme's first message with a text a rule knows: acme
    # is held on that site for 3 s; beta's mail to the same site keeps going.
    rules = tmp_path / "shaping.toml"
    rules.write_text(r"""
[[default.automation]]
name = "tenant-block"
match = '\[TENANT-BLOCK\]'
action = "suspend"
scope = "tenant"
duration = "3s"
""")
    sink = mx_lab.sink("mx1")
    defer_once(sink, "acme-0", BLOCK)
    mx_lab.dns.mx("held.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)})
    inject_pipelined(s, [("sender@src.example", ["acme-0@held.example"],
                          tagged("acme-0", tenant="acme"))])
    autos = wait_until(lambda: [e for e in s.events() if e["type"] == "Automation"], 10)
    fired = time.monotonic()
    [a] = autos
    assert a["action"] == "suspend tenant" and a["tenant"] == "acme", a
    assert a["rule"] == "tenant-block" and a["site"] == "mx1.dest.example", a
    assert a["egress_source"] is None and a["campaign"] is None, a
    summary = json.loads(s.cli("queue", "summary", "--json").stdout)
    assert [(g["scope"], g["tenant"]) for g in summary["suspensions"]] == [("tenant", "acme")]

    inject_pipelined(s, [("sender@src.example", [f"{t}-{i}@held.example"],
                          tagged(f"{t}-{i}", tenant=t))
                         for t in ("acme", "beta") for i in range(1, 4)])
    wait_until(lambda: sum(subject(m).startswith("beta") for m in sink.messages) == 3, 10)
    beta_done = time.monotonic()
    assert beta_done - fired < 2.5, "beta waited for acme's suspension"
    assert not any(subject(m).startswith("acme") for m in sink.messages)
    msgs = sink.wait_messages(7, timeout=20)
    acme_times = [m.at for m in msgs if subject(m).startswith("acme")]
    assert len(acme_times) == 4
    assert min(acme_times) >= fired + 2.5, [round(t - fired, 2) for t in acme_times]
    assert len([e for e in s.events() if e["type"] == "Automation"]) == 1


def test_a_tenant_rule_ignores_mail_without_a_tenant(mx_lab, delivering_sluiced, tmp_path):
    # Untagged mail (and reports, which never have a tenant) is no group: a
    # tenant rule does not hold it; the deferral is retried as usual.
    rules = tmp_path / "shaping.toml"
    rules.write_text("[[default.automation]]\nmatch = 'TENANT-BLOCK'\nscope = \"tenant\"\n"
                     "duration = \"1h\"\n")
    sink = mx_lab.sink("mx1", defer_first=1, defer_reply=BLOCK)
    mx_lab.dns.mx("none.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)})
    inject_pipelined(s, [("sender@src.example", ["u@none.example"], tagged("none-0"))])
    sink.wait_messages(1, timeout=15)  # retried after [queue] first_retry (1 s here)
    assert not [e for e in s.events() if e["type"] == "Automation"]


def test_a_tenant_threshold_counts_each_tenants_replies_apart(mx_lab, delivering_sluiced,
                                                             tmp_path):
    # "2/min": one deferral for acme and one for beta are not two of a kind;
    # acme's second is.
    rules = tmp_path / "shaping.toml"
    rules.write_text("[[default.automation]]\nname = \"twice\"\nmatch = 'TENANT-BLOCK'\n"
                     "scope = \"tenant\"\ntrigger = \"2/min\"\nduration = \"1h\"\n")
    sink = mx_lab.sink("mx1")
    deferred = {"acme-1", "beta-1", "acme-2"}  # each deferred once

    def reply_for(msg):
        if subject(msg) in deferred:
            deferred.discard(subject(msg))
            return BLOCK
        return None

    sink.reply_for = reply_for
    mx_lab.dns.mx("count.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)}, queue={"first_retry": "1h"})
    for tag, tenant in (("acme-1", "acme"), ("beta-1", "beta")):
        inject_pipelined(s, [("sender@src.example", [f"{tag}@count.example"],
                              tagged(tag, tenant))])
        wait_until(lambda: tag not in deferred, 10)
    stays_true(lambda: not [e for e in s.events() if e["type"] == "Automation"], 0.5,
               why="a rule acts in the step that reads the reply, milliseconds after the sink sent it")
    inject_pipelined(s, [("sender@src.example", ["acme-2@count.example"],
                          tagged("acme-2", "acme"))])
    [a] = wait_until(lambda: [e for e in s.events() if e["type"] == "Automation"], 10)
    assert (a["rule"], a["action"], a["tenant"]) == ("twice", "suspend tenant", "acme"), a


def test_a_campaign_rule_holds_the_campaign_not_the_tenant(mx_lab, delivering_sluiced, tmp_path):
    rules = tmp_path / "shaping.toml"
    rules.write_text(r"""
[[default.automation]]
name = "campaign-block"
code = 451
match = 'campaign content'
action = "suspend"
scope = "campaign"
duration = "3s"
""")
    sink = mx_lab.sink("mx1")
    defer_once(sink, "promo-0", "451 4.7.1 Deferred: campaign content looks like spam")
    mx_lab.dns.mx("camp.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)})
    inject_pipelined(s, [("sender@src.example", ["promo-0@camp.example"],
                          tagged("promo-0", tenant="acme", campaign="promo"))])
    [a] = wait_until(lambda: [e for e in s.events() if e["type"] == "Automation"], 10)
    fired = time.monotonic()
    assert (a["action"], a["tenant"], a["campaign"]) == ("suspend campaign", "acme", "promo"), a
    inject_pipelined(s, [("sender@src.example", ["promo-1@camp.example"],
                          tagged("promo-1", tenant="acme", campaign="promo")),
                         ("sender@src.example", ["news-1@camp.example"],
                          tagged("news-1", tenant="acme", campaign="news")),
                         ("sender@src.example", ["plain-1@camp.example"],
                          tagged("plain-1", tenant="acme"))])
    wait_until(lambda: {subject(m) for m in sink.messages} >= {"news-1", "plain-1"}, 10)
    assert time.monotonic() - fired < 2.5
    msgs = sink.wait_messages(4, timeout=20)
    promo = sorted(m.at for m in msgs if subject(m).startswith("promo"))
    assert len(promo) == 2 and promo[0] >= fired + 2.5, [round(t - fired, 2) for t in promo]


def test_operator_controls_take_a_tenant_a_campaign_or_a_domain(mx_lab, delivering_sluiced):
    # Targets are filters in queue-name form: "acme@*" is acme's mail to every
    # domain, "spring:beta@*" one campaign, "ops.example" every queue to it.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("ops.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.mx("ops2.example", "mx1.dest.example", 10)
    s = delivering_sluiced()
    assert '"suspended"' in s.cli("queue", "suspend", "acme@*", "--json").stdout
    assert '"suspended"' in s.cli("queue", "suspend", "spring:beta@*", "--json").stdout
    bad = s.cli("queue", "suspend", "bad!@*", check=False)
    assert bad.returncode != 0 and "not a queue name" in bad.stdout + bad.stderr, bad
    inject_pipelined(s, [
        ("sender@src.example", ["a1@ops.example"], tagged("acme-1", "acme")),
        ("sender@src.example", ["a2@ops2.example"], tagged("acme-2", "acme", "news")),
        ("sender@src.example", ["b1@ops.example"], tagged("beta-1", "beta", "spring")),
        ("sender@src.example", ["b2@ops2.example"], tagged("beta-2", "beta", "news")),
        ("sender@src.example", ["p1@ops.example"], tagged("plain-1")),
    ])
    sink.wait_messages(2, timeout=10)
    stays_true(lambda: sorted(subject(m) for m in sink.messages) == ["beta-2", "plain-1"], 1.0,
               why="the five were injected together to two domains on one MX; unheld mail went at once")
    queues = {q["queue"]: q for q in json.loads(s.cli("queue", "summary", "--json").stdout)["queues"]}
    assert queues["acme@ops.example"]["suspended"] is True, queues
    assert queues["news:acme@ops2.example"]["suspended"] is True, queues
    assert queues["spring:beta@ops.example"]["suspended"] is True, queues
    # Resuming the campaign lets it go; acme stays held.
    out = json.loads(s.cli("queue", "resume", "spring:beta@*", "--json").stdout)
    assert out["released"] == 1, out
    sink.wait_messages(3, timeout=10)
    # A domain covers every tenant's queue to it.
    out = json.loads(s.cli("queue", "bounce", "ops.example", "--json").stdout)
    assert out == {"bounced": 1}, out
    wait_until(lambda: any(e["type"] == "AdminBounce" and e["queue"] == "acme@ops.example"
                           for e in s.events()), 10)
    out = json.loads(s.cli("queue", "bounce", "acme@*", "--json").stdout)
    assert out == {"bounced": 1}, out


def test_a_timed_suspension_stops_queued_mail_at_once_and_ends_by_itself(
        mx_lab, delivering_sluiced, tmp_path):
    # One message a second leaves the rest waiting in the ready queue; the
    # suspension takes them out of it (tenant names keep their case), and
    # lets them go when its 3 s are up.
    rules = tmp_path / "shaping.toml"
    rules.write_text('[domain."slow.example"]\nmax_message_rate = "60/min"\n')
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("slow.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)})
    inject_pipelined(s, [("sender@src.example", [f"t{i}@slow.example"], tagged(f"t{i}", "Acme"))
                         for i in range(6)], connections=1)
    sink.wait_messages(1, timeout=10)
    out = json.loads(s.cli("queue", "suspend", "Acme@*", "3s", "--json").stdout)
    suspended_at = time.monotonic()
    assert out["suspended"] == "Acme@*" and out["held"] >= 3, out
    summary = json.loads(s.cli("queue", "summary", "--json").stdout)
    [held] = summary["operator_suspensions"]
    assert held["target"] == "Acme@*" and held["until"] is not None, held
    # At most what was already in a transaction goes during the 3 s suspension
    # (at 60/min the rest would go one a second).
    stays_true(lambda: len(sink.messages) <= 3, 2.0,
               why="two seconds of a 60/min rate would send two more")
    during = len(sink.messages)
    msgs = sink.wait_messages(6, timeout=20)
    late = [m.at for m in msgs[during:]]
    assert min(late) >= suspended_at + 2.5, [round(t - suspended_at, 2) for t in late]
    assert json.loads(s.cli("queue", "summary", "--json").stdout)["operator_suspensions"] == []
    bad = s.cli("queue", "suspend", "Acme@*", "soon", check=False)
    assert bad.returncode != 0 and "not a duration" in bad.stderr, bad
    bad = s.cli("queue", "suspend", "Acme@*", "2h", "extra", check=False)
    assert bad.returncode != 0 and "unknown command" in bad.stderr, bad


def test_operator_suspensions_outlast_a_restart(mx_lab, delivering_sluiced):
    # A suspended campaign must not start sending because the daemon restarted.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("keep.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced()
    s.cli("queue", "suspend", "promo:acme@*")
    s.cli("queue", "suspend", "other.example", "1h")
    s.cli("queue", "suspend", "gone.example", "1s")
    wait_until(lambda: "gone.example" not in [
        h["target"] for h in json.loads(s.cli("queue", "summary", "--json").stdout)[
            "operator_suspensions"]], 10, interval=0.1, what="the 1 s suspension to end")
    s.stop()
    s.start()
    held = {h["target"]: h["until"]
            for h in json.loads(s.cli("queue", "summary", "--json").stdout)["operator_suspensions"]}
    assert set(held) == {"promo:acme@*", "other.example"}, held
    assert held["promo:acme@*"] is None and held["other.example"] is not None, held
    inject_pipelined(s, [("sender@src.example", ["p@keep.example"], tagged("p", "acme", "promo")),
                         ("sender@src.example", ["n@keep.example"], tagged("n", "acme", "news"))])
    sink.wait_messages(1, timeout=10)
    stays_true(lambda: [subject(m) for m in sink.messages] == ["n"], 1.0,
               why="both were injected together to the same domain; only the suspension holds p")
    s.cli("queue", "resume", "promo:acme@*")
    sink.wait_messages(2, timeout=10)


def test_suspensions_by_reply_rules_outlast_a_restart(mx_lab, delivering_sluiced, tmp_path):
    # A [TS03]-style rule suspends the path for an hour, a tenant rule holds
    # acme on another site for an hour: a restart must not undo either, or
    # sluiced would go straight back to a receiver that asked it to stop.
    rules = tmp_path / "shaping.toml"
    rules.write_text(r"""
[[domain."path.example".automation]]
name = "ts03"
match = '\[TS03\]'
duration = "1h"

[[default.automation]]
name = "tenant-block"
match = '\[TENANT-BLOCK\]'
scope = "tenant"
duration = "1h"
""")
    path_sink = mx_lab.sink("mx1")
    defer_once(path_sink, "p-0", "421 4.7.0 [TS03] go away")
    group_sink = mx_lab.sink("mx2")
    defer_once(group_sink, "acme-0", BLOCK)
    mx_lab.dns.mx("path.example", "mx1.path.example", 10).a("mx1.path.example",
                                                           path_sink.address)
    mx_lab.dns.mx("group.example", "mx1.group.example", 10).a("mx1.group.example",
                                                             group_sink.address)
    # Deferred mail waits an hour, so nothing uses the path until p-1 comes.
    s = delivering_sluiced(delivery={"shaping": str(rules)}, queue={"first_retry": "1h"})
    inject_pipelined(s, [("sender@src.example", ["p0@path.example"], tagged("p-0")),
                         ("sender@src.example", ["a0@group.example"], tagged("acme-0", "acme"))])
    wait_until(lambda: len([e for e in s.events() if e["type"] == "Automation"
                            and e["rule"] in ("ts03", "tenant-block")]) == 2, 10)
    s.stop()
    s.start()
    summary = json.loads(s.cli("queue", "summary", "--json").stdout)
    assert [(g["scope"], g["tenant"]) for g in summary["suspensions"]] == [("tenant", "acme")]
    # Another rule fires before the restored path is used again: the state
    # written then still has the path, so it outlasts a second restart too.
    defer_once(group_sink, "gamma-0", BLOCK)
    inject_pipelined(s, [("sender@src.example", ["g0@group.example"], tagged("gamma-0", "gamma"))])
    wait_until(lambda: any(e.get("tenant") == "gamma" for e in s.events()
                           if e["type"] == "Automation"), 10)
    # The state is written every second (and at shutdown): wait for it on disk.
    wait_until(lambda: "tenant gamma|" in (s.spool_path / "shaping.state").read_text(), 10,
               interval=0.1, what="gamma's suspension in shaping.state")
    s.stop()
    s.start()
    inject_pipelined(s, [("sender@src.example", ["p1@path.example"], tagged("p-1")),
                         ("sender@src.example", ["a1@group.example"], tagged("acme-1", "acme")),
                         ("sender@src.example", ["b1@group.example"], tagged("beta-1", "beta"))])
    group_sink.wait_messages(1, timeout=10)
    stays_true(lambda: [subject(m) for m in group_sink.messages] == ["beta-1"]
               and path_sink.messages == [], 1.0,
               why="the three were injected together; only the restored suspensions hold two")
    sites = {x["site"]: x for x in json.loads(s.cli("queue", "summary", "--json").stdout)["sites"]}
    assert sites["domain:path.example|mx1.path.example"]["suspended_until"] is not None, sites


def test_a_named_warmup_plan_is_shared_and_a_full_provider_holds_up_no_other(
        mx_lab, delivering_sluiced, tmp_path):
    # Two sources follow one plan: 3 a day per provider each. Eight messages to
    # one provider: six go, two wait for day 2 (an hour away). Mail to another
    # provider is not held up behind them.
    rules = tmp_path / "shaping.toml"
    rules.write_text('[provider.bigmail]\nmx_suffixes = [".big.example"]\n')
    sink = mx_lab.sink("mx1")
    big = mx_lab.sink("mx2")
    mx_lab.dns.mx("warm.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    mx_lab.dns.mx("big.example", "mx1.big.example", 10).a("mx1.big.example", big.address)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    s = delivering_sluiced(delivery={"shaping": str(rules)}, config={"egress": {
        "warmup_day": "1h",
        "warmup": {"new-ip": {"plan": [3, 100]}},
        "source": [
            {"name": "x", "address": "127.0.0.84", "warmup": "new-ip", "warmup_start": stamp},
            {"name": "y", "address": "127.0.0.85", "warmup": "new-ip", "warmup_start": stamp},
        ]}})
    inject_pipelined(s, [("sender@src.example", [f"w{i}@warm.example"], tagged(f"w{i}"))
                         for i in range(8)])
    sink.wait_messages(6, timeout=15)
    inject_pipelined(s, [("sender@src.example", [f"b{i}@big.example"], tagged(f"b{i}"))
                         for i in range(2)])
    big.wait_messages(2, timeout=10)
    stays_true(lambda: len(sink.messages) == 6, 1.0,
               why="the two over the cap were injected before the big.example mail that has gone")
    status = {x["source"]: x for x in json.loads(s.cli("warmup", "status", "--json").stdout)["sources"]}
    for name in ("x", "y"):
        assert status[name]["day"] == 1 and status[name]["cap"] == 3, status
        assert status[name]["today"].get("other") == 3, status
    assert sum(st["today"].get("bigmail", 0) for st in status.values()) == 2, status
    queues = {q["queue"]: q["messages"] for q in
              json.loads(s.cli("queue", "summary", "--json").stdout)["queues"]}
    assert queues.get("warm.example") == 2, queues


def test_warmup_overflow_spills_to_a_source_of_the_pool_with_room(mx_lab, delivering_sluiced):
    # One plan, two start dates: x is on day 1 (cap 3), y on day 2 (cap 100).
    # Equal weights would split ten messages 5:5; x's cap sends its surplus to y.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("spill.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    now = time.time()
    day1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 1))
    day2 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 - 1))
    s = delivering_sluiced(config={"egress": {
        "warmup_day": "1h",
        "warmup": {"ramp": {"plan": [3, 100]}},
        "source": [
            {"name": "x", "address": "127.0.0.84", "warmup": "ramp", "warmup_start": day1},
            {"name": "y", "address": "127.0.0.85", "warmup": "ramp", "warmup_start": day2},
        ]}})
    inject_pipelined(s, [("sender@src.example", [f"s{i}@spill.example"], tagged(f"s{i}"))
                         for i in range(10)])
    msgs = sink.wait_messages(10, timeout=15)
    peers = [m.peer[0] for m in msgs]
    assert peers.count("127.0.0.84") == 3 and peers.count("127.0.0.85") == 7, peers
    status = {x["source"]: x for x in json.loads(s.cli("warmup", "status", "--json").stdout)["sources"]}
    assert (status["x"]["day"], status["x"]["cap"]) == (1, 3), status
    assert (status["y"]["day"], status["y"]["cap"]) == (2, 100), status


def test_warmup_counts_what_the_receiver_accepted(mx_lab, delivering_sluiced):
    # A cap of 2: the first message is deferred once, then delivered on retry.
    # The deferral gives its allowance back, so both go out on day 1.
    sink = mx_lab.sink("mx1", defer_first=1)
    mx_lab.dns.mx("give.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    s = delivering_sluiced(config={"egress": {"warmup_day": "1h", "source": [
        {"name": "z", "address": "127.0.0.86", "warmup_start": stamp, "warmup_plan": [2, 100]}]}})
    inject_pipelined(s, [("sender@src.example", [f"g{i}@give.example"], tagged(f"g{i}"))
                         for i in range(2)], connections=1)
    sink.wait_messages(2, timeout=15)
    [st] = json.loads(s.cli("warmup", "status", "--json").stdout)["sources"]
    assert st["today"] == {"other": 2}, st


def test_config_names_unknown_pools_and_plans(tmp_path):
    cfg = default_config(tmp_path)
    cfg["egress"] = {"default_pool": "nope",
                     "source": [{"name": "a", "address": "127.0.0.81", "warmup": "missing",
                                 "warmup_start": "2026-01-01T00:00:00Z"}],
                     "pool": [{"name": "p", "sources": ["a", "ghost"]}]}
    cfg["tenant"] = {"acme": {"pool": "elsewhere", "users": ["bad user"]}, "bad name": {}}
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(cfg))
    p = subprocess.run([SLUICED, "--check-config", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    out = p.stderr
    for want in ("egress.default_pool: no [[egress.pool]] named nope",
                 "egress.source[0].warmup: no plan [egress.warmup.missing]",
                 "egress.pool[0].sources: no [[egress.source]] named ghost",
                 "tenant.acme.pool: no [[egress.pool]] named elsewhere",
                 "tenant.acme.users: not a user name: bad user",
                 "tenant.bad name: a tenant name is 1-64"):
        assert want in out, (want, out)


def test_mail_waiting_for_warmup_room_expires_at_max_age(mx_lab, delivering_sluiced):
    # A cap of 1 and a day of an hour: the second message waits for room, and
    # expires when it reaches [queue] max_age rather than waiting for day 2.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("old.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    s = delivering_sluiced(queue={"max_age": "3s"}, config={"egress": {
        "warmup_day": "1h",
        "source": [{"name": "z", "address": "127.0.0.86", "warmup_start": stamp,
                    "warmup_plan": [1, 100]}]}})
    sent = time.monotonic()
    inject_pipelined(s, [("sender@src.example", [f"o{i}@old.example"], tagged(f"o{i}"))
                         for i in range(2)], connections=1)
    [expired] = wait_until(lambda: [e for e in s.events() if e["type"] == "Expiration"], 10)
    assert time.monotonic() - sent >= 2.5
    assert expired["recipient"] == "o1@old.example", expired
    assert len(sink.messages) == 1


def test_explain_shows_the_pool_a_tenant_and_campaign_use(tmp_path, sluiced_factory):
    rules = tmp_path / "shaping.toml"
    rules.write_text('[domain."ex.example"]\nconnection_limit = 4\n'
                     '[domain."ex.example".source."127.0.0.83"]\nconnection_limit = 1\n')
    s = sluiced_factory(config={
        "delivery": {"enabled": True, "shaping": str(rules), "smarthost": "[127.0.0.20]"},
        "egress": POOLS,
        "tenant": {"acme": {"pool": "bulk", "campaign": {"spring": {"pool": "warm"}}}},
    })
    out = s.cli("shaping", "explain", "ex.example", "--tenant", "acme").stdout
    assert "pool     bulk (tenant acme)" in out, out
    assert "b 127.0.0.82 (weight 1), c 127.0.0.83 (weight 1)" in out, out
    assert "source   127.0.0.82" in out, out
    out = s.cli("shaping", "explain", "ex.example", "--tenant", "acme",
                "--campaign", "spring").stdout
    assert "pool     warm (campaign spring of tenant acme)" in out, out
    assert "(domain ex.example source 127.0.0.83)" in out, out  # its only source's block
    out = s.cli("shaping", "explain", "ex.example").stdout
    assert "pool     shared ([egress] default_pool)" in out, out

    # The HTTP twin explains with the running node's rules and routes.
    op = make_key(s)["key"]
    status, e, _ = call(s, "POST", "/api/v1/shaping/explain",
                        {"domain": "EX.example", "tenant": "acme", "campaign": "spring"}, key=op)
    assert status == 200, e
    assert e["domain"] == "ex.example" and e["hosts"] == ["[127.0.0.20]"] and e["via"] == "route"
    assert e["pool"] == "warm" and e["source"] == "127.0.0.83"
    assert e["settings"]["connection_limit"] == {
        "value": "1", "origin": "domain ex.example source 127.0.0.83"}
    for bad in ({"domain": "ex.example", "campaign": "spring"}, {"domain": "ex.example", "x": "1"},
                {"domain": "ex.example", "source": "not-an-ip"}, {}):
        status, err, _ = call(s, "POST", "/api/v1/shaping/explain", bad, key=op)
        assert status == 400, (bad, err)
    tenant = make_key(s, "acme")["key"]
    assert call(s, "POST", "/api/v1/shaping/explain", {"domain": "ex.example"}, key=tenant)[0] == 403


def test_a_tenant_sends_only_from_its_own_domains(sluiced_factory):
    """[tenant.NAME] domains: an authenticated user's envelope sender and its
    one From field must be at the tenant's domains or below (550 5.7.1)."""
    s = sluiced_factory(
        config={"tenant": {"acme": {"users": ["alice"], "domains": ["acme.example"]}}},
        listener_opts={"submission": {"allow_plaintext_auth": True}},
        users={"alice": PASSWORD})

    def send(mail_from, content):
        with connect(s.port("submission")) as c:
            c.ehlo()
            c.expect("AUTH PLAIN " + plain_response("alice", PASSWORD), 235)
            c.expect(f"MAIL FROM:<{mail_from}>", 250)
            c.expect("RCPT TO:<u@dest.example>", 250)
            c.expect("DATA", 354)
            c.send(content + ".\r\n")
            reply = c.reply()
            c.cmd("QUIT")
            return reply

    def msg(frm, extra=""):
        return f"From: {frm}\r\n{extra}Subject: t\r\n\r\nHello.\r\n"

    r = send("news@other.example", msg("<news@acme.example>"))
    assert (r.code, r.text[:5]) == (550, "5.7.1"), r
    r = send("news@acme.example", msg("Other <news@other.example>"))
    assert (r.code, r.text[:5]) == (550, "5.7.1"), r
    # Two From fields: which one a receiver shows is anyone's guess.
    r = send("news@acme.example", msg("<news@acme.example>", "From: <x@other.example>\r\n"))
    assert (r.code, r.text[:5]) == (550, "5.7.1"), r
    assert s.spool_count() == 0
    # Its own domain, and a subdomain of it, are fine.
    assert send("news@acme.example", msg("Acme <news@acme.example>")).code == 250
    assert send("bounces@mail.acme.example", msg("<news@ACME.example>")).code == 250
    assert s.spool_count() == 2
