"""Fixtures for the Sluice end-to-end tests.

Every test gets its own sluiced (its own spool, event log and users file under
tmp_path, listeners on 127.0.0.1 port 0). The fixture only ever signals the
processes it started, by PID, and fails the test if AddressSanitizer or
UBSan reported anything on sluiced's output.

Binaries: $SLUICED and $SLUICE_CLI, defaulting to the build-asan tree.
"""

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from smtp_client import connect  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SLUICED = os.environ.get("SLUICED", str(ROOT / "build-asan/src/app/sluiced"))
SLUICE_CLI = os.environ.get("SLUICE_CLI", str(ROOT / "build-asan/src/app/sluice"))

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

PASSWORD = "correct horse battery staple"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def toml_key(k):
    """A bare key if it may be one (TOML v1.0 §Keys), else a quoted one."""
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(config):
    """TOML for {section: {key: value}}; a dict value is a sub-table and a list
    of dicts an array of tables ([[listener]], [[dkim.domain]], ...)."""
    out = []

    def table(path, body, array=False):
        out.append(f"[[{path}]]" if array else f"[{path}]")
        nested = []
        for k, v in body.items():
            if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
                nested.append((k, v))
            else:
                out.append(f"{toml_key(k)} = {toml_value(v)}")
        out.append("")
        for k, v in nested:
            if isinstance(v, dict):
                table(f"{path}.{toml_key(k)}", v)
            else:
                for item in v:
                    table(f"{path}.{toml_key(k)}", item, array=True)

    for section, body in config.items():
        if isinstance(body, list):
            for item in body:
                table(section, item, array=True)
        else:
            table(section, body)
    return "\n".join(out)


def default_config(tmp):
    return {
        "server": {"hostname": "mx.test", "threads": 2, "shutdown_timeout": "3s"},
        "spool": {
            "path": str(tmp / "spool"),
            "min_free_disk": "1MiB",
            "min_free_memory": "1MiB",
            # Small memtables keep each test's space reserve (2.1 x this) small.
            "memtable_size": "4MiB",
        },
        # No floor of the event log's own: the full-disk scenarios fill small
        # file systems to the last octet.
        "events": {"log": str(tmp / "events.jsonl"), "history_path": str(tmp / "history"),
                   "log_min_free_disk": "0"},
        "suppression": {"path": str(tmp / "suppression"), "cache_size": "4MiB"},
        "auth": {"users_file": str(tmp / "users")},
        "admin": {"socket": str(tmp / "admin.sock")},
        "api": {"keys_file": str(tmp / "api-keys")},
        "http": [{"name": "api", "address": "127.0.0.1", "port": 0, "tls": "none"}],
        "relay": {"networks": ["127.0.0.0/8"], "local_domains": ["local.test"]},
        # Reception scenarios keep accepted mail in the spool; delivery
        # scenarios (test_delivery_*) turn this on with their own DNS and MX.
        "delivery": {"enabled": False},
        "listener": [
            {"name": "relay", "kind": "relay", "address": "127.0.0.1", "port": 0,
             "tls": "self-signed"},
            {"name": "submission", "kind": "submission", "address": "127.0.0.1", "port": 0,
             "tls": "self-signed"},
            {"name": "smtps", "kind": "smtps", "address": "127.0.0.1", "port": 0,
             "tls": "self-signed"},
        ],
    }


def run_cli(config_path, *args, stdin=None, check=True):
    p = subprocess.run(
        [SLUICE_CLI, "--config", str(config_path), *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    assert not any(m in p.stderr for m in SANITIZER_MARKERS), f"sanitizer report from sluice:\n{p.stderr}"
    if check:
        assert p.returncode == 0, f"sluice {' '.join(args)} failed ({p.returncode}): {p.stderr}"
    return p


class Sluiced:
    """One sluiced instance: its config, process, ports and helpers."""

    def __init__(self, tmp, config):
        self.tmp = tmp
        self.config = config
        self.config_path = tmp / "sluiced.toml"
        self.config_path.write_text(to_toml(config))
        self.ready_path = tmp / "ready.json"
        self.events_path = Path(config["events"]["log"])
        self.spool_path = Path(config["spool"]["path"])
        self.users_path = Path(config["auth"]["users_file"])
        self.proc = None
        self.pid = None
        self.preexec = None  # runs in the child before exec (e.g. resource limits)
        self.env = None  # extra environment variables for sluiced
        self.ports = {}
        self.runs = 0
        self.log_paths = []
        self._stdout = None
        self._stderr = None

    # --- life cycle ----------------------------------------------------------

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if self.ready_path.exists():
            self.ready_path.unlink()
        out = self.tmp / f"sluiced.{self.runs}.stdout"
        err = self.tmp / f"sluiced.{self.runs}.stderr"
        self.log_paths += [out, err]
        self.runs += 1
        self._stdout = open(out, "wb")
        self._stderr = open(err, "wb")
        self.proc = subprocess.Popen(
            [SLUICED, "--config", str(self.config_path), "--ready-file", str(self.ready_path)],
            stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr,
            cwd=self.tmp, preexec_fn=self.preexec,
            env={**os.environ, **self.env} if self.env else None,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.ready_path.exists():
                try:
                    ready = json.loads(self.ready_path.read_text())
                    break
                except ValueError:
                    pass  # written atomically, but be safe
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"sluiced exited with {self.proc.returncode} before it was ready:\n"
                    + self.output())
            if time.monotonic() > deadline:
                raise AssertionError("sluiced not ready within 20 s:\n" + self.output())
            time.sleep(0.02)
        assert ready["pid"] == self.proc.pid, ready
        self.pid = self.proc.pid
        self.ports = dict(ready["listeners"])
        return self

    def restart(self):
        """Starts sluiced again with the same config and spool (it must be stopped)."""
        assert self.proc is not None and self.proc.poll() is not None, "stop() it first"
        return self.start()

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` to our sluiced and waits for it to exit; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            raise AssertionError(f"sluiced did not exit within {timeout} s of signal {sig}")
        self._close_logs()
        return rc

    def kill(self):
        """SIGKILL (by PID), as a crash would."""
        return self.stop(signal.SIGKILL)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_logs(self):
        for f in (self._stdout, self._stderr):
            if f is not None and not f.closed:
                f.close()

    def output(self):
        text = []
        for p in self.log_paths:
            if p.exists():
                text.append(f"--- {p.name} ---\n" + p.read_text(errors="replace"))
        return "\n".join(text)

    def sanitizer_reports(self):
        found = []
        for p in self.log_paths:
            if p.exists():
                content = p.read_text(errors="replace")
                if any(m in content for m in SANITIZER_MARKERS):
                    found.append(f"--- {p} ---\n{content[-20000:]}")
        return found

    # --- helpers ---------------------------------------------------------------

    def port(self, name):
        return self.ports[name]

    def connect(self, listener="relay", **kw):
        return connect(self.ports[listener], **kw)

    def events(self):
        if not self.events_path.exists():
            return []
        text = self.events_path.read_text()
        # A line being written as we read is not complete yet: only lines
        # that end in a newline are records.
        lines = text.split("\n")[:-1]
        return [json.loads(line) for line in lines if line.strip()]

    def wait_events(self, n, timeout=10.0):
        """The events, once there are at least n (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.events()
            if len(ev) >= n or time.monotonic() > deadline:
                return ev
            time.sleep(0.02)

    def cli(self, *args, **kw):
        return run_cli(self.config_path, *args, **kw)

    def spool_count(self):
        p = self.cli("spool", "count")
        return int(p.stdout.strip())

    def spool_ls(self):
        """[(id, time, size, sender, [rcpts])] from `sluice spool ls`."""
        out = []
        for line in self.cli("spool", "ls").stdout.splitlines():
            parts = line.split("\t")
            assert len(parts) == 5, f"unexpected spool ls line {line!r}"
            mid, ts, size, sender, rcpts = parts
            assert sender.startswith("<") and sender.endswith(">"), line
            out.append((mid, ts, int(size), sender[1:-1], rcpts.split(",") if rcpts else []))
        return out

    def add_user(self, name, password=PASSWORD):
        self.cli("user", "add", name, stdin=password + "\n")

    def reload(self):
        self.signal(signal.SIGHUP)


@pytest.fixture
def sluiced_factory(tmp_path):
    """make(config=None, listeners=None, listener_opts=None, users=None, start=True).

    config: {section: {key: value}} merged over the defaults, per section.
    listeners: a full list of [[listener]] tables replacing the defaults.
    listener_opts: {listener name: {key: value}} merged into that listener
                   ("*" applies to every listener).
    users: {name: password} created with `sluice user add` before starting.
    """
    started = []

    def make(config=None, listeners=None, listener_opts=None, users=None, start=True,
             subdir=None):
        tmp = tmp_path / subdir if subdir else tmp_path
        tmp.mkdir(parents=True, exist_ok=True)
        cfg = default_config(tmp)
        for section, body in (config or {}).items():
            if isinstance(body, list):  # an array of tables ([[route]])
                cfg[section] = body
            else:
                cfg.setdefault(section, {}).update(body)
        if listeners is not None:
            cfg["listener"] = copy.deepcopy(listeners)
        for name, opts in (listener_opts or {}).items():
            matched = False
            for listener in cfg["listener"]:
                if name == "*" or listener["name"] == name:
                    listener.update(opts)
                    matched = True
            assert matched, f"no listener {name}"
        s = Sluiced(tmp, cfg)
        for user, password in (users or {}).items():
            s.add_user(user, password)
        started.append(s)
        if start:
            s.start()
        return s

    yield make

    problems = []
    for s in started:
        if s.running():
            # Graceful first (so LeakSanitizer runs), then SIGKILL; only our own PID.
            os.kill(s.proc.pid, signal.SIGTERM)
            try:
                rc = s.proc.wait(timeout=STOP_TIMEOUT)
                if rc != 0:
                    problems.append(f"sluiced (pid {s.pid}) exited with {rc} at teardown")
            except subprocess.TimeoutExpired:
                os.kill(s.proc.pid, signal.SIGKILL)
                s.proc.wait(timeout=10)
                problems.append(f"sluiced (pid {s.pid}) ignored SIGTERM at teardown")
        s._close_logs()
        problems.extend(s.sanitizer_reports())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def sluiced(sluiced_factory):
    """A sluiced with the default test config and user alice."""
    return sluiced_factory(users={"alice": PASSWORD})


@pytest.fixture
def mx_lab(tmp_path):
    """The remote side of delivery (tests/e2e/mx.py): dnsmasq, aiosmtpd sinks.

    Request it before sluiced_factory (or use delivering_sluiced) so that
    sluiced is stopped before the sinks and the DNS go away."""
    from mx import MxLab

    lab_dir = tmp_path / "lab"
    lab_dir.mkdir(exist_ok=True)
    lab = MxLab(lab_dir)
    yield lab
    lab.close()


@pytest.fixture
def signed_dns(tmp_path):
    """A DNSSEC-signed DNS (tests/e2e/signed_dns.py: nsd, ldns-signzone).

    Request it before sluiced_factory, so sluiced stops first."""
    from signed_dns import SignedDns

    dns = SignedDns(tmp_path)
    yield dns
    dns.stop()


@pytest.fixture
def test_ca(tmp_path):
    """A private certificate authority (tests/e2e/pki.py)."""
    from pki import TestCa

    return TestCa(tmp_path)


@pytest.fixture
def delivering_sluiced(mx_lab, sluiced_factory):
    """start(delivery=None, queue=None, config=None, **factory_kw) -> Sluiced.

    Starts the lab's DNS if needed, then a sluiced with delivery enabled that
    resolves through it and delivers to the lab's destination port (short
    retry and idle settings; see MxLab.config)."""

    started = []

    def start(delivery=None, queue=None, config=None, **kw):
        if mx_lab.dns.proc is None:
            mx_lab.dns.start()
        cfg = mx_lab.config(delivery, queue)
        for section, body in (config or {}).items():
            if isinstance(body, list):  # an array of tables ([[route]])
                cfg[section] = body
            else:
                cfg.setdefault(section, {}).update(body)
        s = sluiced_factory(config=cfg, **kw)
        started.append(s)
        return s

    yield start

    # A delivery coroutine that died of an exception loses its work item and
    # its connection slot: sluiced logs "delivery task: <what>" at error level.
    died = [line for s in started for line in s.output().splitlines()
            if " error delivery task: " in line]
    if died:
        pytest.fail("delivery tasks died in sluiced:\n" + "\n".join(died), pytrace=False)


@pytest.fixture
def tmpfs(tmp_path):
    """tmpfs(size="32m") -> Path: a file system of the test's own, to fill.

    Needs root (CI runs as root); the test is skipped where mounting fails.
    Request it before sluiced_factory, so sluiced stops before it is unmounted."""
    mounted = []

    def make(size="32m"):
        mnt = tmp_path / f"fs{len(mounted)}"
        mnt.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                            str(mnt)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (root needed): {r.stderr.strip()}")
        mounted.append(mnt)
        return mnt

    yield make
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path):
    """Writes `path` until its file system is full, to the last octet."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"x" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


@pytest.fixture
def make_cert(tmp_path):
    """make_cert(name, cn="mx.test") -> (cert_path, key_path), self-signed via openssl."""

    def make(name, cn="mx.test"):
        cert = tmp_path / f"{name}.crt"
        key = tmp_path / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
            check=True, capture_output=True, timeout=30,
        )
        return cert, key

    return make
