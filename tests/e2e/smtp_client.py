"""A small raw SMTP client for the end-to-end tests.

smtplib hides the wire: it never pipelines, it normalises what it sends, and it
reads replies one at a time. These helpers send exact octets and read replies
exactly as the server wrote them, so tests can check ordering and framing.
"""

import base64
import datetime
import re
import socket
import ssl
import time

HOST = "127.0.0.1"
# Generous under AddressSanitizer on 2 cores; every wait below is bounded by it.
READ_TIMEOUT = 15.0

QUEUED_RE = re.compile(r"^2\.0\.0 Ok: queued as ([0-9a-f]{32})$")


def client_tls_context():
    """A TLS client context that accepts the server's self-signed certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def plain_response(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


class Reply:
    """One SMTP reply: code, the text of each line (after "NNN-" / "NNN "), raw octets."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        m = re.match(r"^(\d\.\d{1,3}\.\d{1,3})\b", self.lines[-1])
        return m.group(1) if m else None

    def queued_id(self):
        m = QUEUED_RE.match(self.lines[-1])
        return m.group(1) if m else None

    def __repr__(self):
        return f"Reply({self.raw!r})"


class ClosedError(AssertionError):
    pass


class Conn:
    """A client connection speaking raw SMTP (optionally inside TLS)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.greeting = None

    # --- connection set-up -------------------------------------------------

    @classmethod
    def open(cls, port, host=HOST, source=None, tls=False, greeting=True, timeout=READ_TIMEOUT):
        src = (source, 0) if source else None
        sock = socket.create_connection((host, port), timeout=timeout, source_address=src)
        sock.settimeout(timeout)
        if tls:
            sock = client_tls_context().wrap_socket(sock, server_hostname=None)
        c = cls(sock)
        if greeting:
            c.greeting = c.reply()
        return c

    def starttls(self):
        """Wrap the socket in TLS (after the server's 220 to STARTTLS)."""
        assert self.buf == b"", f"unread data before the TLS handshake: {self.buf!r}"
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname=None)
        return self.sock

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    # --- I/O ----------------------------------------------------------------

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply within the timeout; buffered {self.buf!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as e:
            raise TimeoutError(f"no complete reply within the timeout; buffered {self.buf!r}") from e
        except (ConnectionResetError, ssl.SSLError) as e:
            raise ClosedError(f"connection reset while reading a reply; buffered {self.buf!r}") from e
        if not chunk:
            raise ClosedError(f"connection closed while reading a reply; buffered {self.buf!r}")
        self.buf += chunk

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            assert len(self.buf) < 1 << 20, "absurdly long reply line"
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self, timeout=READ_TIMEOUT):
        """Reads one complete (possibly multi-line) reply."""
        deadline = time.monotonic() + timeout
        lines = []
        raw = b""
        code = None
        for _ in range(1000):
            line = self._line(deadline)
            raw += line + b"\r\n"
            m = re.match(rb"^(\d{3})([ -])(.*)$", line, re.S)
            assert m, f"malformed reply line {line!r}"
            if code is None:
                code = int(m.group(1))
            assert int(m.group(1)) == code, f"reply code changed inside a reply: {raw!r}"
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) == b" ":
                return Reply(code, lines, raw)
        raise AssertionError("reply with more than 1000 lines")

    def replies(self, n, timeout=READ_TIMEOUT):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=READ_TIMEOUT):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def expect(self, line, code, enhanced=None):
        r = self.cmd(line)
        assert r.code == code, f"{line!r}: expected {code}, got {r!r}"
        if enhanced is not None:
            assert r.enhanced == enhanced, f"{line!r}: expected {code} {enhanced}, got {r!r}"
        return r

    def ehlo(self, name="client.test"):
        r = self.expect(f"EHLO {name}", 250)
        return r

    def wait_closed(self, timeout=5.0):
        """True if the server closes the connection (EOF or reset) within timeout.

        Data still arriving is kept in the buffer (so callers can check for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            except ssl.SSLError:
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def pending(self, wait=0.3):
        """Whatever the server sends within `wait` seconds (without blocking longer)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                break
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            self.buf += chunk
        return self.buf

    # --- common sequences ---------------------------------------------------

    def send_message(self, sender, recipients, body, mail_params=""):
        """MAIL, RCPT..., DATA, body, '.'; returns the final reply.

        A recipient may be (address, "PARAM=value ...") for RCPT parameters."""
        params = f" {mail_params}" if mail_params else ""
        self.expect(f"MAIL FROM:<{sender}>{params}", 250, "2.1.0")
        for r in recipients:
            addr, rparams = r if isinstance(r, tuple) else (r, "")
            self.expect(f"RCPT TO:<{addr}>" + (f" {rparams}" if rparams else ""), 250, "2.1.5")
        self.expect("DATA", 354)
        self.send(body + b".\r\n" if isinstance(body, bytes) else body + ".\r\n")
        return self.reply()


def connect(port, **kw):
    return Conn.open(port, **kw)


def rfc5322_date_from_event(ts):
    """The Date: text Sluice writes for an event timestamp "YYYY-MM-DDTHH:MM:SS.ffffffZ"."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return (
        f"{days[t.weekday()]}, {t.day} {months[t.month - 1]} {t.year} "
        f"{t.hour:02}:{t.minute:02}:{t.second:02} +0000"
    )


def received_header_length(event, hostname="mx.test", tls_bits=None):
    """Length of the Received: field Sluice prepends to a message.

    RFC 5321 §4.4: the trace field is part of the stored message, so the stored
    size is exactly len(Received) + octets of the message content. For a TLS
    session pass the cipher's secret bits (ssl.SSLSocket.cipher()[2])."""
    text = (
        f"Received: from {event['helo']} ([{event['client_ip']}])\r\n"
        f"\tby {hostname} (Sluice) with {event['protocol']} id {event['id']}"
    )
    if event["tls"] is not None:
        assert tls_bits is not None, "TLS session: tls_bits needed"
        text += (f"\r\n\t(using {event['tls']['version']} with cipher "
                 f"{event['tls']['cipher']} ({tls_bits} bits))")
    else:
        assert tls_bits is None
    if len(event["recipients"]) == 1:
        text += f"\r\n\tfor <{event['recipients'][0]}>"
    text += f";\r\n\t{rfc5322_date_from_event(event['timestamp'])}\r\n"
    return len(text.encode())
