"""Webhooks: signed batches, at least once, through receiver outages and kill -9.

Standard Webhooks 1.0 signatures, verified on every request by the function
docs/webhooks.md shows (extracted from it and run here). The receiver is
Python's http.server behind TLS with its own certificate, which sluiced
trusts through the webhook's ca_file.
"""

import http.client
import json
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mx import stays_true, wait_until
from smtp_client import connect

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def doc_verify():
    """The verify() of docs/webhooks.md, as written there."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    scope = {}
    exec(code, scope)  # noqa: S102 - our own documentation
    return scope["verify"]


VERIFY = doc_verify()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(tmp):
    cert, key = tmp / "hook.crt", tmp / "hook.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:hooks.test"],
        check=True, capture_output=True, timeout=30)
    return cert, key


class Receiver:
    """An HTTPS webhook receiver: verifies, records, answers as scripted.

    script: a list of answers for the next requests ("ok", 500, "hang"), then "ok"."""

    def __init__(self, tmp, port=None):
        self.cert, self.key = make_cert(tmp)
        self.port = port or free_port()
        self.requests = []  # (headers, body bytes, verified, answer)
        self.script = []
        self.delay = 0.0
        self.cond = threading.Condition()
        self.server = None
        self.release = threading.Event()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = VERIFY(SECRET, headers, body)
                with receiver.cond:
                    answer = receiver.script.pop(0) if receiver.script else "ok"
                    receiver.requests.append((headers, body, ok, answer))
                    receiver.cond.notify_all()
                if answer == "hang":
                    receiver.release.wait(10)  # past sluiced's timeout
                    return
                if receiver.delay:
                    # The behaviour under test: a receiver slow to acknowledge.
                    time.sleep(receiver.delay)
                code = 200 if answer == "ok" else answer
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def accepted(self):
        """The events of every acknowledged batch, in order received."""
        with self.cond:
            return [e for h, b, ok, a in self.requests if a == "ok"
                    for e in json.loads(b)["events"]]

    def wait_events(self, n, timeout=20):
        return wait_until(lambda: (lambda e: e if len(e) >= n else None)(self.accepted()),
                          timeout, interval=0.05, what=f"{n} events at the receiver")


@pytest.fixture
def receiver(tmp_path):
    made = []

    def make(port=None, start=True):
        r = Receiver(tmp_path, port)
        made.append(r)
        return r.start() if start else r

    yield make
    for r in made:
        r.stop()


def hook_config(r, **kw):
    h = {"name": "app", "url": f"https://127.0.0.1:{r.port}/hook", "secret": SECRET,
         "ca_file": str(r.cert), "max_events": 5, "max_wait": "200ms", "timeout": "1s",
         "first_retry": "100ms", "max_retry": "500ms"}
    h.update(kw)
    return {"webhook": [h]}


def send(s, n, tag):
    """n messages over one relay connection; their queued ids, in order."""
    ids = []
    with connect(s.port("relay")) as c:
        c.ehlo()
        for i in range(n):
            r = c.send_message("a@src.example", ["b@dest.example"],
                               f"Subject: {tag} {i}\r\nMessage-ID: <{tag}.{i}@src.example>\r\n"
                               f"\r\nhello\r\n")
            assert r.code == 250, r
            ids.append(r.queued_id())
        c.cmd("QUIT")
    return ids


def receptions(events):
    return [e["id"] for e in events if e["type"] == "Reception"]


def test_batches_are_signed_ordered_and_bounded(receiver, sluiced_factory):
    r = receiver()
    s = sluiced_factory(config=hook_config(r))
    ids = send(s, 12, "batch")
    got = r.wait_events(12)
    assert receptions(got) == ids  # every one, in order
    assert all(ok for _, _, ok, _ in r.requests), "a request failed signature verification"
    sizes = [len(json.loads(b)["events"]) for _, b, _, _ in r.requests]
    assert max(sizes) <= 5 and sum(sizes) == 12, sizes
    assert len({e["event_id"] for e in got}) == 12
    # Each record names the message's own Message-ID.
    assert [e["message_id"] for e in got] == [f"<batch.{i}@src.example>" for i in range(12)]
    assert all(json.loads(b)["webhook"] == "app" for _, b, _, _ in r.requests)
    # A tampered body or a stale timestamp fails the documented check.
    h, b, _, _ = r.requests[0]
    assert not VERIFY(SECRET, h, b.replace(b"Reception", b"Bounce", 1))
    assert not VERIFY(SECRET, dict(h, **{"webhook-timestamp": str(int(time.time()) - 3600)}), b)


def test_events_filter_and_tenant_scope(receiver, sluiced_factory):
    r = receiver()
    s = sluiced_factory(config=hook_config(r, events=["Delivery"]))
    send(s, 3, "filtered")
    # Nothing the webhook does not take reaches it (Reception only here).
    stays_true(lambda: r.requests == [], 1.0,
               "five max_wait periods: a batch of the receptions would have gone by now")
    st = json.loads(s.cli("webhook", "list", "--json").stdout)["webhooks"][0]
    assert st["pending"] == 0 and st["posts_ok"] == 0, st
    # A tenant's webhook takes that tenant's records only.
    r2 = receiver()
    s2 = sluiced_factory(config=hook_config(r2, tenant="acme"), subdir="second")
    with connect(s2.port("relay")) as c:
        c.ehlo()
        for tenant in ("acme", "other", "acme"):
            assert c.send_message("a@src.example", ["b@dest.example"],
                                  f"X-Tenant: {tenant}\r\nSubject: t\r\n\r\nhi\r\n").code == 250
        c.cmd("QUIT")
    got = r2.wait_events(2)
    stays_true(lambda: len(r2.accepted()) == 2, 0.6, "three max_wait periods after the second")
    assert [e["tenant"] for e in got] == ["acme", "acme"]


def test_receiver_down_then_back_loses_nothing(receiver, sluiced_factory):
    r = receiver(start=False)  # its port is known; nothing listens yet
    s = sluiced_factory(config=hook_config(r))
    ids = send(s, 7, "down")
    wait_until(lambda: json.loads(s.cli("webhook", "list", "--json").stdout)
               ["webhooks"][0]["posts_failed"] >= 2, 15, interval=0.1,
               what="failed attempts while the receiver is down")
    [st] = json.loads(s.cli("webhook", "list", "--json").stdout)["webhooks"]
    assert st["pending"] == 7 and st["events_sent"] == 0, st
    r.start()
    got = r.wait_events(7)
    assert receptions(got) == ids
    wait_until(lambda: json.loads(s.cli("webhook", "list", "--json").stdout)
               ["webhooks"][0]["pending"] == 0, 10, interval=0.1, what="an empty outbox")


def test_500_and_hanging_receivers_are_retried_with_the_same_batch(receiver, sluiced_factory):
    r = receiver()
    r.script = [500, 503, "hang"]
    s = sluiced_factory(config=hook_config(r))
    ids = send(s, 3, "retry")
    got = r.wait_events(3)
    assert receptions(got) == ids
    answers = [a for _, _, _, a in r.requests]
    assert answers[:3] == [500, 503, "hang"] and answers[-1] == "ok", answers
    # The same batch each time: one id, one body.
    assert len({h["webhook-id"] for h, _, _, _ in r.requests[:4]}) == 1
    def metrics():
        c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=10)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        return text

    # The receiver records a batch before its answer reaches sluiced.
    text = wait_until(lambda: (lambda t: t if 'result="sent"} 3' in t else None)(metrics()), 10,
                      interval=0.05, what="the acknowledgement counted")
    assert 'sluice_webhook_posts_total{webhook="app",result="5xx"} 2' in text
    assert 'sluice_webhook_posts_total{webhook="app",result="error"} 1' in text
    assert 'sluice_webhook_events_total{webhook="app",result="sent"} 3' in text


def test_kill9_mid_batch_resends_what_was_not_acknowledged(receiver, sluiced_factory):
    r = receiver()
    r.delay = 0.3  # each batch takes a while to be acknowledged
    s = sluiced_factory(config=hook_config(r, max_events=4))
    ids = send(s, 20, "kill")
    wait_until(lambda: len(r.requests) >= 2, 15, interval=0.02, what="two batches under way")
    s.kill()
    s.start()
    got = wait_until(lambda: (lambda e: e if set(receptions(e)) >= set(ids) else None)(
        r.accepted()), 30, interval=0.1, what="every event after the restart")
    seen = receptions(got)
    dupes = len(seen) - len(set(seen))
    print(f"kill -9 mid-batch: {len(set(seen))} events, {dupes} delivered twice")
    assert set(seen) == set(ids)
    # Order holds within each acknowledged batch.
    for h, b, ok, a in r.requests:
        if a == "ok":
            batch = receptions(json.loads(b)["events"])
            assert batch == sorted(batch, key=ids.index)


def test_cli_list_test_and_replay(receiver, sluiced_factory):
    r = receiver()
    s = sluiced_factory(config=hook_config(r))
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    ids = send(s, 2, "replay")
    first = r.wait_events(2)
    p = s.cli("webhook", "test", "app", check=False)
    assert p.returncode == 0 and p.stdout.startswith("ok"), (p.stdout, p.stderr)
    assert any(e["type"] == "Test" for e in r.accepted())
    listed = s.cli("webhook", "list").stdout
    assert "app" in listed and f"https://127.0.0.1:{r.port}/hook" in listed
    p = s.cli("webhook", "replay", "app", "--since", since, "--json")
    assert json.loads(p.stdout) == {"queued": 2}
    again = r.wait_events(len(first) + 3)
    replayed = [e for e in again[len(first):] if e["type"] == "Reception"]
    assert [e["id"] for e in replayed] == ids
    assert {e["event_id"] for e in replayed}.isdisjoint({e["event_id"] for e in first})
    bad = s.cli("webhook", "test", "nosuch", check=False)
    assert bad.returncode != 0 and "no webhook named nosuch" in bad.stderr


def test_config_refuses_plain_http_off_loopback(sluiced_factory, tmp_path):
    from conftest import to_toml, default_config, run_cli  # noqa: F401
    cfg = default_config(tmp_path)
    cfg["webhook"] = [{"name": "x", "url": "http://hooks.example.com/", "secret": SECRET}]
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(cfg))
    from conftest import SLUICED
    p = subprocess.run([SLUICED, "--check-config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert "url" in p.stderr and "plain http is only for loopback" in p.stderr, p.stderr
