"""Processes the benchmarks drive: Postfix's smtp-sink and smtp-source, sluiced,
and a private Postfix instance configured as a relay. All bind to 127.0.0.x;
each is stopped by the PID we started (Postfix by its own `postfix stop`)."""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
DNSMASQ = "/usr/sbin/dnsmasq"

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /proc -----------------------------------------------------------------------

def cpu_seconds(pid, children=False):
    """User + system CPU seconds of a process (and its waited-for children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def status_kb(pid, key):
    """A VmXXX line of /proc/PID/status, in KiB (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def descendants(pid):
    """PIDs of every live process below `pid`."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(d))
            except (FileNotFoundError, ProcessLookupError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in parents.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu_seconds(pid):
    """CPU seconds of a process, its live descendants and its exited children."""
    total = cpu_seconds(pid, children=True)
    for c in descendants(pid):
        try:
            total += cpu_seconds(c, children=True)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except FileNotFoundError:
                pass
    return total


def wait_port(host, port, timeout=20):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


# --- smtp-sink -------------------------------------------------------------------

class Sink:
    """smtp-sink counting accepted messages (-c prints sess=/quit=/mesg= counters)."""

    def __init__(self, workdir, host, port, soft_reject=None):
        self.host, self.port = host, port
        self.out_path = Path(workdir) / f"sink-{host}-{port}.out"
        args = [SMTP_SINK, "-u", "nobody", "-c"]
        if soft_reject:
            args += ["-r", soft_reject]  # 4xx to these commands
        args += [f"{host}:{port}", "1024"]
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        wait_port(host, port)

    def counters(self):
        """(sessions, messages) so far."""
        with open(self.out_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 200))
            tail = f.read().decode("ascii", "replace")
        m = re.findall(r"sess=(\d+) quit=\d+ mesg=(\d+)", tail)
        if not m:
            return 0, 0
        return int(m[-1][0]), int(m[-1][1])

    def messages(self):
        return self.counters()[1]

    def wait_messages(self, n, timeout):
        """Seconds (monotonic) when the count reached n, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.messages() >= n:
                return time.monotonic()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def smtp_source(host, port, count, size, sessions, recipient, sender="bench@src.example",
                timeout=None):
    """Runs smtp-source to completion (messages reuse connections, -d)."""
    args = [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", recipient, f"{host}:{port}"]
    return subprocess.run(args, capture_output=True, timeout=timeout)


def smtp_source_start(host, port, count, size, sessions, recipient, sender="bench@src.example"):
    args = [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", recipient, f"{host}:{port}"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# --- sluiced ---------------------------------------------------------------------

SLUICE_CONFIG = """\
[server]
hostname = "bench.sluice.test"
{server_extra}

[spool]
path = "{workdir}/spool"

[events]
log = "{workdir}/events.jsonl"
{events_extra}

[auth]
users_file = "{workdir}/users"

[relay]
networks = ["127.0.0.0/8"]

[dns]
forwarders = ["{forwarder}"]

[delivery]
{route}
tls = "disabled"

shaping = "{shaping}"

[queue]
first_retry = "1h"

[admin]
socket = "{workdir}/admin.sock"

[[listener]]
name = "relay"
kind = "relay"
address = "{host}"
port = {port}
tls = "none"
# smtp-source keeps each connection for its whole share of the run.
max_messages_per_connection = 1000000
# The idle-sessions case holds thousands of connections from one address.
max_connections = 20000
max_connections_per_relay_client = 20000
"""

# DKIM signing as a user runs it: smtp-source's From domain has a key.
SLUICE_DKIM = """
[dkim]
require_published = false

[[dkim.domain]]
domain = "src.example"

[[dkim.domain.key]]
selector = "bench"
key_file = "{key}"
"""

SHAPING = Path(__file__).resolve().parent.parent / "etc" / "shaping.toml"


class Sluiced:
    """sluiced on the defaults a user would run (durable spool, event log), relaying
    to the sink as its smarthost. Only what the bench needs is configured."""

    def __init__(self, binary, cli, workdir, host, port, sink_host, sink_port, fresh=True,
                 sign=None, extra="", server_extra="", dns="127.0.0.1@1", history=True):
        """sign: None, "ed25519" or "rsa2048" (a key made with `sluice dkim keygen`).
        server_extra: lines added to [server]; extra: text added at the end.
        history False: no message history kept (events.history_retention = "0").
        sink_host None: no smarthost; mail goes to the domains' MX hosts (found
        through `dns`, "address@port") on port sink_port.
        The shipped shaping rules (etc/shaping.toml) are always loaded."""
        # Absolute: sluiced runs in its work dir.
        self.binary, self.cli = str(Path(binary).resolve()), cli
        self.workdir = Path(workdir)
        self.host, self.port = host, port
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "sluice.toml"
        route = (f'smarthost = "[{sink_host}]:{sink_port}"' if sink_host
                 else f"port = {sink_port}")
        text = SLUICE_CONFIG.format(workdir=self.workdir, host=host, port=port, route=route,
                                    forwarder=dns, shaping=SHAPING, server_extra=server_extra,
                                    events_extra="" if history else 'history_retention = "0"')
        if sign:
            key = self.workdir / f"src.example.{sign}.pem"
            if not key.exists():
                subprocess.run([cli, "dkim", "keygen", "--domain", "src.example", "--selector",
                                "bench", "--algorithm", sign, "--out", str(key)],
                               check=True, capture_output=True, timeout=120)
            text += SLUICE_DKIM.format(key=key)
        self.config.write_text(text + extra)
        (self.workdir / "users").touch()
        self.log_path = self.workdir / "sluiced.log"
        self.proc = None

    def start(self):
        ready = self.workdir / "ready"
        if ready.exists():
            ready.unlink()
        self.log = open(self.log_path, "ab")
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "--config", str(self.config), "--ready-file", str(ready)],
            stdout=self.log, stderr=subprocess.STDOUT,
            cwd=self.workdir)  # what is not configured (var/history) stays in the work dir
        deadline = time.monotonic() + 300
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluiced exited: {self.log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("sluiced not ready after 300 s")
            time.sleep(0.005)
        self.t_ready = time.monotonic()
        return self

    @property
    def pid(self):
        return self.proc.pid

    def cli_run(self, *args):
        return subprocess.run([self.cli, "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=60)

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


# --- Postfix ---------------------------------------------------------------------

POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {workdir}/queue
data_directory = {workdir}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = bench-postfix.localdomain
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [{sink_host}]:{sink_port}
smtpd_recipient_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = {workdir}
maillog_file = {workdir}/maillog
# Tuned as an operator would for a high-volume relay: connection cache on,
# concurrency and process limits raised, no rate or flow limits toward clients.
smtp_connection_cache_on_demand = yes
default_process_limit = 200
default_destination_concurrency_limit = 50
initial_destination_concurrency = 50
smtp_destination_concurrency_limit = 50
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
in_flow_delay = 0s
"""


class Postfix:
    """A private Postfix instance (its own config, queue and data directories)
    relaying everything to the sink. smtpd listens on host:port (master.cf)."""

    def __init__(self, workdir, host, port, sink_host, sink_port, transport=None):
        """transport: {domain: (host, port)} routes (a transport map) instead
        of the relayhost."""
        self.workdir = Path(workdir)
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        conf = self.workdir / "conf"
        conf.mkdir(parents=True)
        (self.workdir / "queue").mkdir()
        data = self.workdir / "data"
        data.mkdir()
        shutil.chown(data, "postfix")
        main = POSTFIX_MAIN.format(workdir=self.workdir, sink_host=sink_host, sink_port=sink_port)
        if transport:
            main += f"relayhost =\ntransport_maps = hash:{conf}/transport\n"
        (conf / "main.cf").write_text(main)
        if transport:
            (conf / "transport").write_text(
                "".join(f"{d} smtp:[{h}]:{p}\n" for d, (h, p) in transport.items()))
            subprocess.run([POSTMAP, "-c", str(conf), str(conf / "transport")], check=True,
                           capture_output=True)
        master = Path("/etc/postfix/master.cf").read_text()
        lines = []
        for line in master.splitlines():
            f = line.split()
            if f and not line.startswith((" ", "\t", "#")) and len(f) >= 8:
                if f[0] == "smtp" and f[1] == "inet":
                    f[0] = f"{host}:{port}"
                f[4] = "n"  # no chroot: the queue lives outside /var/spool/postfix
                line = " ".join(f)
            lines.append(line)
        (conf / "master.cf").write_text("\n".join(lines) + "\n")
        self.conf = conf
        self.host, self.port = host, port

    def start(self):
        subprocess.run([POSTFIX, "-c", str(self.conf), "check"], capture_output=True)
        r = subprocess.run([POSTFIX, "-c", str(self.conf), "start"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed; see {self.workdir}/maillog")
        wait_port(self.host, self.port)
        return self

    @property
    def pid(self):
        return int((self.workdir / "queue" / "pid" / "master.pid").read_text().split()[0])

    def stop(self):
        """`postfix stop`; if the instance does not go within 30 s (a wedged
        daemon), its master and the master's children are killed (all ours)."""
        try:
            master = self.pid
        except (OSError, ValueError, IndexError):
            master = None
        try:
            subprocess.run([POSTFIX, "-c", str(self.conf), "stop"], capture_output=True,
                           timeout=30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while master and Path(f"/proc/{master}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # polling interval; the loop is bounded by `deadline`
        if master and Path(f"/proc/{master}").exists():
            for pid in [*descendants(master), master]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
