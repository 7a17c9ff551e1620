"""Traffic shaping from a rules file ([delivery] shaping): a max_message_rate
is honoured smoothly at the receiver, a connection_limit is never exceeded,
and `sluice shaping check|explain|reload` do what they say."""

import json
import socket
import subprocess
import time
from pathlib import Path

from conftest import SLUICE_CLI
from mx import body, inject_pipelined, stays_true, wait_until

ROOT = Path(__file__).resolve().parents[2]


def admin(s, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(10)
        c.connect(s.config["admin"]["socket"])
        c.sendall(line.encode() + b"\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    return json.loads(data)


def rules_file(tmp_path, text):
    path = tmp_path / "shaping.toml"
    path.write_text(text)
    return path


def start(mx_lab, delivering_sluiced, rules, domain, **sink_script):
    sink = mx_lab.sink("mx1", **sink_script)
    mx_lab.dns.mx(domain, "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules), "connection_limit": 10})
    return sink, s


def test_max_message_rate_is_smooth_and_honoured(mx_lab, delivering_sluiced, tmp_path):
    rules = rules_file(tmp_path, '[domain."rate.example"]\nmax_message_rate = "120/min"\n'
                                 'connection_limit = 4\n')
    sink, s = start(mx_lab, delivering_sluiced, rules, "rate.example")
    n = 25
    inject_pipelined(s, [("sender@src.example", [f"u{i}@rate.example"], body(f"rate-{i}"))
                         for i in range(n)])
    sink.wait_messages(n, timeout=60)
    times = sorted(sink.transaction_times)
    assert len(times) == n
    rate = (n - 1) / (times[-1] - times[0])
    assert 1.8 <= rate <= 2.2, f"{rate:.2f} messages/s at the receiver, want 2 (120/min)"
    gaps = [b - a for a, b in zip(times, times[1:])]
    # Smooth, not bursts at the top of the minute: no two messages close together.
    assert min(gaps) > 0.35, [round(g, 3) for g in gaps]


def test_connection_limit_is_never_exceeded(mx_lab, delivering_sluiced, tmp_path):
    rules = rules_file(tmp_path, '[domain."conn.example"]\nconnection_limit = 2\n')
    sink, s = start(mx_lab, delivering_sluiced, rules, "conn.example", data_delay=0.1)
    n = 20
    inject_pipelined(s, [("sender@src.example", [f"u{i}@conn.example"], body(f"conn-{i}"))
                         for i in range(n)])
    sink.wait_messages(n, timeout=60)
    assert sink.max_active == 2, sink.max_active


def test_reload_applies_new_rules(mx_lab, delivering_sluiced, tmp_path):
    rules = rules_file(tmp_path, '[domain."reload.example"]\nconnection_limit = 1\n')
    sink, s = start(mx_lab, delivering_sluiced, rules, "reload.example", data_delay=0.1)
    inject_pipelined(s, [("sender@src.example", [f"u{i}@reload.example"], body(f"a-{i}"))
                         for i in range(6)])
    sink.wait_messages(6, timeout=60)
    assert sink.max_active == 1
    rules.write_text('[domain."reload.example"]\nconnection_limit = 3\n')
    r = s.cli("shaping", "reload", "--json")
    assert '"reloaded"' in r.stdout, r.stdout
    wait_until(lambda: sink.active == 0, 10)
    sink.max_active = 0
    inject_pipelined(s, [("sender@src.example", [f"v{i}@reload.example"], body(f"b-{i}"))
                         for i in range(12)])
    sink.wait_messages(18, timeout=60)
    assert sink.max_active == 3, sink.max_active
    # A broken file is refused, with the reason, and the running rules stay. (The
    # CLI itself would refuse to start on the broken file: ask the socket directly.)
    rules.write_text('[domain."reload.example"]\nconnection_limit = "many"\n')
    reply = admin(s, "shaping reload")
    assert "error" in reply and "connection_limit: expected an integer" in reply["error"], reply
    wait_until(lambda: sink.active == 0, 10)
    sink.max_active = 0
    inject_pipelined(s, [("sender@src.example", [f"w{i}@reload.example"], body(f"c-{i}"))
                         for i in range(12)])
    sink.wait_messages(30, timeout=60)
    assert sink.max_active == 3, sink.max_active


def test_check_and_explain(tmp_path, sluiced_factory):
    shipped = ROOT / "etc" / "shaping.toml"
    ok = subprocess.run([SLUICE_CLI, "shaping", "check", str(shipped)], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and ": ok (" in ok.stdout, ok.stderr
    bad = rules_file(tmp_path, '[default]\nconection_limit = 3\n[provider.x]\n'
                               'mx_suffixes = [".x.test"]\nmax_message_rate = "fast"\n')
    r = subprocess.run([SLUICE_CLI, "shaping", "check", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{bad}:2: default.conection_limit: unknown option" in r.stderr, r.stderr
    assert f"{bad}:5: provider.x.max_message_rate:" in r.stderr, r.stderr

    rules = rules_file(tmp_path, '[default]\nconnection_limit = 7\n'
                                 '[domain."explain.example"]\nmax_message_rate = "60/min"\n'
                                 '[domain."explain.example".source."127.0.0.9"]\n'
                                 'connection_limit = 1\n')
    s = sluiced_factory(config={"delivery": {"enabled": False, "shaping": str(rules),
                                             "smarthost": "[127.0.0.1]:2525"}}, start=False)
    out = s.cli("shaping", "explain", "explain.example").stdout
    assert "connection_limit                7" in out and "(default)" in out, out
    assert "max_message_rate                60/min" in out and "(domain explain.example)" in out
    src = s.cli("shaping", "explain", "explain.example", "--source", "127.0.0.9").stdout
    assert "(domain explain.example source 127.0.0.9)" in src, src


def test_pool_sources_are_used_by_weight(mx_lab, delivering_sluiced):
    # Egress sources: each binds its own 127.0.0.x address and says its own name
    # in EHLO; mail is spread over them in proportion to their weights.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("pool.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(config={"egress": {"source": [
        {"name": "one", "address": "127.0.0.71", "ehlo_name": "one.sluice.test", "weight": 1},
        {"name": "three", "address": "127.0.0.72", "ehlo_name": "three.sluice.test",
         "weight": 3},
    ]}})
    n = 40
    inject_pipelined(s, [("sender@src.example", [f"u{i}@pool.example"], body(f"pool-{i}"))
                         for i in range(n)])
    msgs = sink.wait_messages(n, timeout=60)
    by_peer = {}
    for m in msgs:
        by_peer.setdefault(m.peer[0], []).append(m.helo)
    assert sorted(by_peer) == ["127.0.0.71", "127.0.0.72"], by_peer.keys()
    assert len(by_peer["127.0.0.71"]) == 10 and len(by_peer["127.0.0.72"]) == 30, \
        {k: len(v) for k, v in by_peer.items()}
    assert set(by_peer["127.0.0.71"]) == {"one.sluice.test"}
    assert set(by_peer["127.0.0.72"]) == {"three.sluice.test"}
    # Outcome events name the source.
    events = wait_until(lambda: [e for e in s.events() if e["type"] == "Delivery"]
                        if len([e for e in s.events() if e["type"] == "Delivery"]) == n
                        else None, 10)
    assert sorted({e["egress_source"] for e in events}) == ["127.0.0.71", "127.0.0.72"]


TS03 = ("421 4.7.0 [TS03] All messages from 127.0.0.1 will be permanently deferred; "
        "Retrying will NOT succeed. See https://postmaster.example/error-codes")


def test_ts03_reply_suspends_the_path_then_it_resumes(mx_lab, delivering_sluiced, tmp_path):
    rules = rules_file(tmp_path, r"""
[domain."ts.example"]
connection_limit = 1

[[domain."ts.example".automation]]
name = "yahoo-ts03"
match = '\[TS03\]'
action = "suspend"
duration = "3s"
""")
    sink, s = start(mx_lab, delivering_sluiced, rules, "ts.example",
                    defer_first=1, defer_reply=TS03)
    n = 4
    inject_pipelined(s, [("sender@src.example", [f"u{i}@ts.example"], body(f"ts-{i}"))
                         for i in range(n)], connections=1)
    sink.wait_messages(n, timeout=40)
    autos = [e for e in s.events() if e["type"] == "Automation" and e["rule"] == "yahoo-ts03"]
    assert len(autos) == 1, autos
    a = autos[0]
    assert a["action"] == "suspend" and a["response"]["code"] == 421, a
    assert "[TS03]" in a["response"]["text"]
    # Nothing reached the receiver while the path was suspended.
    times = sorted(sink.transaction_times)
    assert times[1] - times[0] >= 2.8, [round(t - times[0], 2) for t in times]
    # The deferred message was retried and delivered with the rest.
    wait_until(lambda: {e["recipient"] for e in s.events() if e["type"] == "Delivery"}
               == {f"u{i}@ts.example" for i in range(n)}, 10)


def test_threshold_and_limit_action(mx_lab, delivering_sluiced, tmp_path):
    # "limit" for a while once a reply was seen twice within a minute.
    rules = rules_file(tmp_path, r"""
[domain."slow.example"]
connection_limit = 1

[[domain."slow.example".automation]]
name = "too-fast"
code = 451
match = 'rate'
trigger = "2/min"
action = "limit"
max_message_rate = "60/min"
duration = "1h"
""")
    sink, s = start(mx_lab, delivering_sluiced, rules, "slow.example", defer_first=2,
                    defer_reply="451 4.7.1 Sending rate too high")
    n = 6
    inject_pipelined(s, [("sender@src.example", [f"u{i}@slow.example"], body(f"slow-{i}"))
                         for i in range(n)])
    sink.wait_messages(n, timeout=40)
    autos = [e for e in s.events() if e["type"] == "Automation" and e["rule"] == "too-fast"]
    assert len(autos) == 1 and autos[0]["action"] == "limit", autos
    # After the rule fired (on the second deferral), at most one message a second.
    times = sorted(sink.transaction_times)[2:]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps and min(gaps) > 0.8, [round(g, 2) for g in gaps]


def test_consecutive_connection_failures_back_off(mx_lab, delivering_sluiced):
    # Built in (no rules): a dead destination is not hammered; each failure in
    # a row doubles the pause, announced as an Automation event.
    refuser = mx_lab.refusing()
    mx_lab.dns.mx("dead.example", "mx1.dead.example", 10).a("mx1.dead.example",
                                                             refuser.address)
    s = delivering_sluiced(delivery={"failure_backoff": "1s", "max_failure_backoff": "4s"})
    inject_pipelined(s, [("sender@src.example", ["u@dead.example"], body("dead"))])
    def suspensions():
        return [e for e in s.events() if e["type"] == "Automation" and e["action"] == "suspend"]
    wait_until(lambda: len(suspensions()) >= 3, 20)
    autos = suspensions()[:3]
    assert [a["rule"] for a in autos] == [
        "built-in: 1 failed connection in a row", "built-in: 2 failed connections in a row",
        "built-in: 3 failed connections in a row"], autos
    # The refusal was a 421 at the greeting: concurrency was halved too.
    assert any(e["action"] == "halve concurrency" for e in s.events()
               if e["type"] == "Automation")


def test_warmup_cap_holds_the_next_message_until_the_next_day(mx_lab, delivering_sluiced):
    # A source on day 1 of its warm-up may send 20 messages per provider; the
    # 21st waits for day 2. A "day" is 12 s here ([egress] warmup_day), and the
    # day's count survives a restart.
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("warm.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    start = float(int(time.time()) - 1)  # whole seconds, as the stamp says
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    s = delivering_sluiced(config={"egress": {"warmup_day": "12s", "source": [
        {"name": "new-ip", "address": "127.0.0.73", "warmup_start": stamp,
         "warmup_plan": [20, 1000]}]}})
    inject_pipelined(s, [("sender@src.example", [f"u{i}@warm.example"], body(f"warm-{i}"))
                         for i in range(21)])
    sink.wait_messages(20, timeout=10)
    stays_true(lambda: len(sink.messages) == 20, 1.0,
               why="the 21st was injected with the first 20 and would have gone with them")
    status = json.loads(s.cli("warmup", "status", "--json").stdout)
    [src] = status["sources"]
    assert src["source"] == "new-ip" and src["day"] == 1 and src["cap"] == 20, src
    assert src["today"] == {"other": 20}, src
    # Restart: the day's count is kept, so the 21st still waits.
    s.stop()
    s.start()
    if time.time() < start + 11:
        again = json.loads(s.cli("warmup", "status", "--json").stdout)["sources"][0]
        assert again["today"] == {"other": 20}, again
    sink.wait_messages(21, timeout=30)
    assert time.time() >= start + 12 - 0.5, "the 21st message went out on day 1"
    assert len(sink.messages) == 21


def test_retry_settings_per_destination(mx_lab, delivering_sluiced, tmp_path):
    # [queue] says retry in an hour; the rules say this domain retries after 1 s.
    rules = rules_file(tmp_path, '[domain."retry.example"]\nfirst_retry = "1s"\n')
    sink = mx_lab.sink("mx1", defer_first=1)
    mx_lab.dns.mx("retry.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(delivery={"shaping": str(rules)}, queue={"first_retry": "1h"})
    inject_pipelined(s, [("sender@src.example", ["u@retry.example"], body("retry"))])
    sink.wait_messages(1, timeout=15)
    out = s.cli("shaping", "explain", "retry.example").stdout
    assert "first_retry" in out and "(domain retry.example)" in out, out
