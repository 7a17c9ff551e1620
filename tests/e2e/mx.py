"""Test doubles for the delivery scenarios: a DNS server and receiving MX servers.

* Dnsmasq: Debian's dnsmasq on 127.0.0.1 with a free UDP port, authoritative
  (--local) for the .example names the test declares, so anything else under
  .example is NXDOMAIN. sluiced reaches it through [dns] forwarders.
* Sink: an aiosmtpd server (aiosmtpd.controller.Controller, in-process, its own
  thread and event loop) on its own 127.0.0.x address and the lab's destination
  port. Scriptable (accept, defer the first N transactions, defer everything,
  reject recipients, reject at end of data, answer slowly) and observable
  (connections, concurrent connections, transactions, what it received).
* RefusingServer: a bare socket server that greets with a fixed reply (e.g. 421)
  and hangs up, for "next MX when the preferred one refuses".
* MxLab: owns all of the above for one test, hands out addresses, and tears
  everything down (our own processes only, by PID).
"""

import asyncio
import errno
import random
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DNSMASQ = "/usr/sbin/dnsmasq"
# Receiving servers live on 127.0.0.20 .. 127.0.0.60.
ADDRESS_POOL = [f"127.0.0.{x}" for x in range(20, 61)]
# The destination port: 25 (we run as root) unless something holds it, then
# this fixed high port for every sink of the test.
DEFAULT_PORT = 25
FALLBACK_PORT = 10025


# --- waiting -------------------------------------------------------------------

def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate() until it returns something truthy; returns that value.

    Raises AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def stays_true(predicate, seconds, why):
    """Asserts that predicate() holds throughout `seconds`, polling every 20 ms.

    What should not happen ("no report is sent", "held mail stays held") can
    only be watched for a while: `why` says why `seconds` is long enough for
    it to have happened were the behaviour missing, and is part of the
    failure message."""
    deadline = time.monotonic() + seconds
    while True:
        if not predicate():
            raise AssertionError(f"stopped holding within {seconds} s ({why})")
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)  # polling interval: the watch itself is what `seconds` bounds


def outcomes(sluiced, mid=None, types=("Delivery", "TransientFailure", "Bounce", "Expiration")):
    """Delivery outcome events (optionally of one message id), in log order."""
    return [e for e in sluiced.events()
            if e["type"] in types and (mid is None or e["id"] == mid)]


def wait_outcomes(sluiced, predicate, timeout, what="delivery events", mid=None):
    """Polls the event log until predicate(outcome events) is true; returns them."""
    last = []

    def check():
        nonlocal last
        last = outcomes(sluiced, mid)
        return predicate(last)

    try:
        wait_until(check, timeout, interval=0.05, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; outcome events so far: {last}\n"
                             f"sluiced output tail:\n{sluiced.output()[-4000:]}") from None
    return last


# --- DNS -----------------------------------------------------------------------

def dns_query(port, name, qtype, timeout=0.5):
    """(rcode, answer count) for one UDP query to 127.0.0.1:port."""
    qid = random.randrange(1 << 16)
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        while True:
            data = s.recv(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    return data[3] & 0x0F, struct.unpack(">H", data[6:8])[0]


def stop_child(proc):
    """Ends a child process of ours (by PID): SIGTERM, then SIGKILL after 5 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dnsmasq:
    """dnsmasq answering for .example, .test, home.arpa (and .invalid, which
    sluiced must never ask) from command-line records only."""

    TYPE_A, TYPE_MX = 1, 15

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.records = []
        self.mx_domains = set()
        self.null_mx_domains = set()
        self.hosts = set()
        self.port = None
        self.proc = None
        self.log_path = self.tmp / "dnsmasq.log"
        self._stderr = None

    def mx(self, domain, host, preference=10):
        self.records.append(f"--mx-host={domain},{host},{preference}")
        self.mx_domains.add(domain)
        return self

    def a(self, name, *addresses):
        for addr in addresses:
            self.records.append(f"--host-record={name},{addr}")
        self.hosts.add(name)
        return self

    def null_mx(self, domain):
        # RFC 7505 §3: a single MX record, preference 0, exchange "." (root).
        self.records.append(f"--dns-rr={domain},15,000000")
        self.null_mx_domains.add(domain)
        return self

    def txt(self, name, text):
        # One record; its text goes out as strings of at most 255 characters
        # (RFC 1035 §3.3.14), which dnsmasq takes comma-separated. (So a
        # single-string text must not contain a comma.)
        chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
        self.records.append(f"--txt-record={name}," + ",".join(chunks))
        return self

    def ptr(self, address, name):
        rev = ".".join(reversed(address.split("."))) + ".in-addr.arpa"
        self.records.append(f"--ptr-record={rev},{name}")
        return self

    def txt_lookup(self, name):
        """The TXT strings at `name`, each record's strings joined (dnspython)."""
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = self.port
        try:
            answer = r.resolve(name, "TXT", lifetime=5)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [b"".join(rr.strings) for rr in answer]

    def _launch(self):
        """Runs dnsmasq on self.port with the records as they are; False if it
        would not stay up (most likely the port's TCP side was taken)."""
        if self._stderr is None:
            self._stderr = open(self.tmp / "dnsmasq.stderr", "ab")
        self.proc = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces",
             f"--port={self.port}", "--pid-file=", "--user=root", "--local=/example/",
             "--local=/test/", "--local=/home.arpa/", "--local=/invalid/",
             "--log-queries", f"--log-facility={self.log_path}", *self.records],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        def answering_or_gone():
            if self.proc.poll() is not None:
                return True
            try:
                dns_query(self.port, "ready-probe.example", self.TYPE_A, timeout=0.2)
                return True
            except OSError:
                return False

        wait_until(answering_or_gone, 10, what="dnsmasq to answer")
        return self.proc.poll() is None

    def start(self):
        for _ in range(5):
            self.port = free_udp_port()
            if self._launch():
                break
        else:
            raise AssertionError("dnsmasq would not start:\n"
                                 + (self.tmp / "dnsmasq.stderr").read_text(errors="replace"))
        self._verify()
        return self

    def replace_txt(self, name, text=None):
        """The TXT records at `name` become `text` (None: none), from the next
        restart() on."""
        self.records = [r for r in self.records if not r.startswith(f"--txt-record={name},")]
        if text is not None:
            self.txt(name, text)
        return self

    def remove(self, name):
        """Every A and TXT record at `name` goes, from the next restart() on."""
        self.records = [r for r in self.records
                        if not r.startswith((f"--txt-record={name},", f"--host-record={name},"))]
        self.hosts.discard(name)
        return self

    def restart(self):
        """Serves the records as they are now, on the same port: a zone
        changed between two lookups."""
        stop_child(self.proc)
        # The port was just freed; another process may hold it a moment.
        wait_until(self._launch, 10, what="dnsmasq to start again on port "
                   f"{self.port}: " + str(self.tmp / "dnsmasq.stderr"))
        self._verify()
        return self

    def _verify(self):
        # The zone is what the test declared (guards against a dnsmasq syntax slip).
        for d in sorted(self.mx_domains | self.null_mx_domains):
            rcode, n = dns_query(self.port, d, self.TYPE_MX)
            assert rcode == 0 and n >= 1, f"dnsmasq: MX {d} -> rcode {rcode}, {n} answers"
        for h in sorted(self.hosts):
            rcode, n = dns_query(self.port, h, self.TYPE_A)
            assert rcode == 0 and n >= 1, f"dnsmasq: A {h} -> rcode {rcode}, {n} answers"
        return self

    @property
    def forwarder(self):
        return f"127.0.0.1@{self.port}"

    def stop(self):
        stop_child(self.proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ServfailDns:
    """A UDP DNS server on 127.0.0.1 that answers every query with SERVFAIL."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def forwarder(self):
        return f"127.0.0.1@{self.port}"

    def _run(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            if len(data) < 12:
                continue
            self.queries += 1
            qid, flags = struct.unpack(">HH", data[:4])
            # QR, opcode and RD from the query, RA, RCODE 2 (SERVFAIL); the question echoed.
            flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2
            end = 12
            while end < len(data) and data[end] != 0:
                end += data[end] + 1
            question = data[12:end + 5]
            reply = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0) + question
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                pass

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


# --- receiving MX servers -------------------------------------------------------

@dataclass
class Message:
    """One message a sink accepted (250 at the end of data)."""
    mail_from: str
    rcpt_tos: list
    content: bytes
    helo: str
    peer: tuple
    tls: bool
    transaction: int
    mail_options: list = field(default_factory=list)
    at: float = 0.0

    def header(self, name):
        """The first value of header `name` (unfolded), or None."""
        head = self.content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        m = re.search(rf"^{re.escape(name)}:[ \t]*(.*(?:\r\n[ \t].*)*)", head, re.M | re.I)
        return re.sub(r"\r\n[ \t]+", " ", m.group(1)).strip() if m else None


class _Handler:
    """aiosmtpd hooks; all decisions come from the Sink's current script."""

    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.sink.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        if not self.sink.eightbitmime:
            responses = [r for r in responses if "8BITMIME" not in r]
        if self.sink.requiretls and session.ssl is not None:
            responses.insert(len(responses) - 1, "250-REQUIRETLS")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.transaction = self.sink._begin_transaction()
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        verdict = self.sink._rcpt_verdict(address)
        if verdict is not None:
            return verdict
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.data_delay:
            await asyncio.sleep(self.sink.data_delay)
        return self.sink._end_of_data(envelope, session)


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP, counting connections (STARTTLS re-enters connection_made)."""

    def __init__(self, sink, *args, **kw):
        super().__init__(*args, **kw)
        self._sink = sink
        self._seen = False
        self._counted = False

    def _getparams(self, params):
        # REQUIRETLS (RFC 8689) is taken when offered; it stays in mail_options.
        result = super()._getparams(params)
        if result is not None and self._sink.requiretls and result.get("REQUIRETLS") is True:
            del result["REQUIRETLS"]
        return result

    def connection_made(self, transport):
        first = not self._seen
        self._seen = True
        super().connection_made(transport)
        if first:
            self._counted = self._sink._opened(self)

    def data_received(self, data):
        if self._counted:
            self._sink._wire(self, data)
        super().data_received(data)

    def connection_lost(self, error):
        try:
            super().connection_lost(error)
        finally:
            if self._counted:
                self._counted = False
                self._sink._closed(self)


class _SinkController(Controller):
    def __init__(self, sink, **kw):
        self._sink = sink
        super().__init__(_Handler(sink), **kw)

    def factory(self):
        return _CountingSMTP(self._sink, self.handler, **self.SMTP_kwargs)


class Sink:
    """A receiving MX. Script it through the attributes:

    defer_first     the first N transactions get `defer_reply` at the end of data
    defer_all       every transaction gets `defer_reply` at the end of data
    reject_rcpts    True (every recipient) or a set of addresses: `reject_reply` at RCPT
    data_reply      if set, the reply at the end of data (e.g. a 554)
    reply_for       if set, called with each Message at the end of data: a reply
                    string overrides the scripted one (None: as scripted)
    data_delay      seconds to wait before answering the end of data
    eightbitmime    False: the EHLO reply does not offer 8BITMIME (RFC 6152)
    """

    def __init__(self, name, address, port, tls_context=None, pipelining=True):
        self.name = name
        self.address = address
        self.port = port
        self.pipelining = pipelining
        self.defer_first = 0
        self.defer_all = False
        self.defer_reply = "451 4.3.0 Temporary failure, try again later"
        self.reject_rcpts = set()
        self.reject_reply = "550 5.1.1 <{addr}>: Recipient address rejected: User unknown"
        self.data_reply = None
        self.reply_for = None
        self.data_delay = 0.0
        self.eightbitmime = True
        self.requiretls = False  # offer REQUIRETLS (RFC 8689) after STARTTLS

        self.lock = threading.Condition()
        self.armed = False  # the controller's own start-up probe is not counted
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.transactions = 0  # MAIL commands
        self.data_transactions = 0  # ends of data
        self.messages = []  # accepted
        self.deferred = []  # answered with defer_reply
        self.transaction_times = []  # monotonic time of each end of data
        self.chunks = []  # (connection, bytes) as read from the socket (before TLS only)
        self._live = set()
        self.controller = _SinkController(
            self, hostname=address, port=port, server_hostname=f"{name}.sink",
            tls_context=tls_context, ready_timeout=10.0)

    # -- life cycle --
    def start(self):
        self.controller.start()
        with self.lock:
            self.armed = True
        return self

    def stop(self):
        loop = self.controller.loop
        with self.lock:
            live = list(self._live)
        for proto in live:
            if proto.transport is not None:
                loop.call_soon_threadsafe(proto.transport.close)
        try:
            self.controller.stop()
        except AssertionError:
            pass  # never started

    # -- called on the sink's loop --
    def _opened(self, proto):
        with self.lock:
            if not self.armed:
                return False
            self.connections += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self._live.add(proto)
            self.lock.notify_all()
            return True

    def _closed(self, proto):
        with self.lock:
            self.active -= 1
            self._live.discard(proto)
            self.lock.notify_all()

    def _wire(self, proto, data):
        with self.lock:
            self.chunks.append((id(proto), bytes(data)))

    def _begin_transaction(self):
        with self.lock:
            self.transactions += 1
            return self.transactions

    def _rcpt_verdict(self, address):
        if self.reject_rcpts is True or address in self.reject_rcpts:
            return self.reject_reply.format(addr=address)
        return None

    def _end_of_data(self, envelope, session):
        content = envelope.original_content or b""
        msg = Message(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), content=content,
            helo=session.host_name, peer=session.peer, tls=session.ssl is not None,
            transaction=getattr(envelope, "transaction", 0),
            mail_options=list(envelope.mail_options), at=time.monotonic())
        with self.lock:
            self.data_transactions += 1
            self.transaction_times.append(msg.at)
            custom = self.reply_for(msg) if self.reply_for is not None else None
            if custom is not None:
                self.deferred.append(msg)
                reply = custom
            elif self.defer_all or self.data_transactions <= self.defer_first:
                self.deferred.append(msg)
                reply = self.defer_reply
            elif self.data_reply is not None:
                reply = self.data_reply
            else:
                self.messages.append(msg)
                reply = f"250 2.0.0 Ok: queued as {self.name}.{len(self.messages)}"
            self.lock.notify_all()
            return reply

    # -- observation (test thread) --
    def wait_messages(self, n, timeout):
        with self.lock:
            ok = self.lock.wait_for(lambda: len(self.messages) >= n, timeout)
            assert ok, (f"sink {self.name}: {len(self.messages)} of {n} messages within "
                        f"{timeout} s ({self.connections} connections, "
                        f"{self.transactions} transactions)")
            return list(self.messages)

    def snapshot(self):
        with self.lock:
            return {"connections": self.connections, "active": self.active,
                    "max_active": self.max_active, "transactions": self.transactions,
                    "data_transactions": self.data_transactions,
                    "messages": len(self.messages), "deferred": len(self.deferred)}


class _BareServer:
    """A plain socket server on its own thread; serve(conn) handles each client."""

    def __init__(self, address, port):
        self.address = address
        self.port = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            try:
                self.serve(c)
            finally:
                c.close()

    def serve(self, conn):
        raise NotImplementedError

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class RefusingServer(_BareServer):
    """Accepts connections, sends `greeting`, and closes: an MX that refuses service."""

    def __init__(self, address, port, greeting="421 4.3.2 Service not available, closing channel"):
        self.greeting = greeting.encode() + b"\r\n"
        self.connections = 0
        super().__init__(address, port)

    def serve(self, conn):
        self.connections += 1
        conn.sendall(self.greeting)
        conn.settimeout(0.5)
        try:
            conn.recv(1024)  # e.g. QUIT; then hang up either way
        except OSError:
            pass


class SilentServer(_BareServer):
    """Accepts connections and never says a word: an MX that hangs. Records how
    long each client stayed before hanging up (`held`, seconds)."""

    def __init__(self, address, port):
        self.held = []
        super().__init__(address, port)

    def serve(self, conn):
        t0 = time.monotonic()
        conn.settimeout(0.1)
        while not self._stop.is_set() and time.monotonic() - t0 < 60:
            try:
                if not conn.recv(1024):
                    break  # the client hung up
            except socket.timeout:
                continue
            except OSError:
                break
        self.held.append(time.monotonic() - t0)


# --- the lab ---------------------------------------------------------------------

def _port_bindable(address, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _nothing_listening(address, port):
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def server_tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class MxLab:
    """The remote side of delivery tests: DNS, sinks, dead and refusing MX hosts."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.port = DEFAULT_PORT if _port_bindable(ADDRESS_POOL[0], DEFAULT_PORT) else FALLBACK_PORT
        self._pool = list(ADDRESS_POOL)
        self.sinks = []
        self.refusers = []
        self.dns = Dnsmasq(self.tmp)

    def _next_address(self):
        assert self._pool, "out of 127.0.0.x addresses"
        return self._pool.pop(0)

    def sink(self, name, tls_context=None, **script):
        """A started Sink on a fresh address; `script` sets its attributes."""
        last = None
        while self._pool:
            addr = self._next_address()
            s = Sink(name, addr, self.port, tls_context=tls_context)
            for k, v in script.items():
                assert hasattr(s, k), f"no sink setting {k}"
                setattr(s, k, v)
            try:
                s.start()
            except OSError as e:  # address taken (another test run?): next one
                if e.errno != errno.EADDRINUSE:
                    raise
                last = e
                continue
            self.sinks.append(s)
            return s
        raise AssertionError(f"no free 127.0.0.x address for a sink: {last}")

    def dead_address(self):
        """An address where nothing listens on the destination port (connect is refused)."""
        while self._pool:
            addr = self._next_address()
            if _nothing_listening(addr, self.port):
                return addr
        raise AssertionError("no free 127.0.0.x address")

    def _bare(self, cls, *args):
        """A started bare server of `cls` on a fresh address."""
        while self._pool:
            addr = self._next_address()
            try:
                r = cls(addr, self.port, *args)
            except OSError:
                continue
            self.refusers.append(r)
            return r
        raise AssertionError("no free 127.0.0.x address")

    def refusing(self, greeting="421 4.3.2 Service not available, closing channel"):
        return self._bare(RefusingServer, greeting)

    def silent(self):
        return self._bare(SilentServer)

    def config(self, delivery=None, queue=None, forwarder=None):
        """Config sections for sluiced_factory: delivery on, through our DNS
        (or `forwarder`) to our destination port."""
        if forwarder is None:
            assert self.dns.port is not None, "start the DNS (lab.dns.start()) first"
            forwarder = self.dns.forwarder
        d = {
            "enabled": True,
            "port": self.port,
            "tls": "opportunistic",
            "connection_limit": 2,
            "max_deliveries_per_connection": 100,
            "idle_timeout": "1s",
            # Short dead-destination back-off, so retries every second still try.
            "failure_backoff": "200ms",
            "max_failure_backoff": "1s",
            "connect_timeout": "3s",
            "command_timeout": "15s",
            "data_timeout": "15s",
        }
        d.update(delivery or {})
        q = {
            "first_retry": "1s",
            "backoff_factor": 1.0,
            "jitter": 0.0,
            "max_retry_interval": "10s",
            "max_age": "1h",
        }
        q.update(queue or {})
        return {"dns": {"forwarders": [forwarder]}, "delivery": d, "queue": q}

    def close(self):
        for s in self.sinks:
            s.stop()
        for r in self.refusers:
            r.stop()
        self.dns.stop()


# --- injecting mail into sluiced ---------------------------------------------------

def body(tag, extra_headers="", text="Hello.\r\n"):
    """A small message whose Message-ID is <tag@sluice.test>."""
    return (f"From: <sender@src.example>\r\n"
            f"Subject: {tag}\r\n"
            f"Message-ID: <{tag}@sluice.test>\r\n"
            f"{extra_headers}"
            f"\r\n"
            f"{text}")


def stuff(content):
    """Dot-stuffing for the wire (RFC 5321 §4.5.2)."""
    return re.sub(r"(?m)^\.", "..", content)


def inject(sluiced, sender, recipients, content, mail_params=""):
    """One message (content as it should be stored, it is dot-stuffed here) over
    the relay listener; returns the queued id. A recipient may be
    (address, "RCPT parameters")."""
    from smtp_client import connect

    with connect(sluiced.port("relay")) as c:
        c.ehlo()
        r = c.send_message(sender, recipients, stuff(content), mail_params)
        assert r.code == 250, r
        qid = r.queued_id()
        assert qid, r
        c.cmd("QUIT")
    return qid


def inject_pipelined(sluiced, messages, connections=4):
    """[(sender, [rcpts], content)] over `connections` parallel relay connections,
    MAIL/RCPT/DATA pipelined (RFC 2920); returns the queued ids in order."""
    from smtp_client import connect

    ids = [None] * len(messages)
    errors = []

    def worker(k):
        try:
            with connect(sluiced.port("relay")) as c:
                c.ehlo()
                for i in range(k, len(messages), connections):
                    sender, rcpts, content = messages[i]
                    c.send(f"MAIL FROM:<{sender}>\r\n"
                           + "".join(f"RCPT TO:<{r}>\r\n" for r in rcpts) + "DATA\r\n")
                    codes = [r.code for r in c.replies(2 + len(rcpts))]
                    assert codes == [250] * (1 + len(rcpts)) + [354], codes
                    c.send(stuff(content) + ".\r\n")
                    r = c.reply()
                    assert r.code == 250, r
                    ids[i] = r.queued_id()
                c.cmd("QUIT")
        except Exception as e:  # reported below, with the others
            errors.append(f"connection {k}: {e!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    if errors and not sluiced.running():
        errors.append(f"sluiced died (exit {sluiced.proc.returncode}):\n"
                      + sluiced.output()[-6000:])
    assert not errors, "\n".join(errors)
    assert all(ids), "some messages got no queued id"
    return ids
