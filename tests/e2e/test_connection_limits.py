"""Per-address and total connection limits.

RFC 5321 §3.1 and §4.2.2: a server may refuse a connection with a 421 greeting
("Service not available, closing transmission channel"); RFC 3463 4.7.0.
"""

import time

from smtp_client import connect


def connect_until_admitted(port, attempts=50, **kw):
    """Slots are released asynchronously after a close: retry a bounded number of times."""
    for _ in range(attempts):
        try:
            c = connect(port, **kw)
        except (OSError, AssertionError):  # e.g. a refusal that broke the TLS handshake
            time.sleep(0.05)
            continue
        if c.greeting.code == 220:
            return c
        c.close()
        time.sleep(0.05)
    raise AssertionError("never admitted again")


def test_third_connection_from_one_address_refused(sluiced_factory):
    s = sluiced_factory(config={"relay": {"networks": ["10.0.0.0/8"]}},
                        listener_opts={"relay": {"max_connections_per_ip": 2}})
    port = s.port("relay")
    a = connect(port)
    b = connect(port)
    try:
        assert a.greeting.code == 220 and b.greeting.code == 220
        with connect(port) as c:
            assert c.greeting.code == 421, c.greeting
            assert c.greeting.lines[-1].startswith("4.7.0"), c.greeting
            assert c.wait_closed(5)
        # Another address is not affected.
        with connect(port, source="127.0.0.2") as d:
            assert d.greeting.code == 220, d.greeting
        # The first two still work.
        a.expect("NOOP", 250)
        b.expect("NOOP", 250)
        # Limits are per listener: submission is not affected.
        with connect(s.port("submission")) as e:
            assert e.greeting.code == 220
        a.expect("QUIT", 221)
        a.close()
        with connect_until_admitted(port) as f:
            f.expect("NOOP", 250)
    finally:
        a.close()
        b.close()


def test_total_connection_limit(sluiced_factory):
    s = sluiced_factory(listener_opts={"relay": {"max_connections": 2}})
    port = s.port("relay")
    a = connect(port, source="127.0.0.3")
    b = connect(port, source="127.0.0.4")
    try:
        assert a.greeting.code == 220 and b.greeting.code == 220
        with connect(port, source="127.0.0.5") as c:
            assert c.greeting.code == 421 and c.greeting.lines[-1].startswith("4.7.0"), c.greeting
            assert c.wait_closed(5)
    finally:
        a.close()
        b.close()
    with connect_until_admitted(port, source="127.0.0.5") as d:
        d.expect("NOOP", 250)


def test_failed_tls_handshakes_release_their_slots(sluiced_factory):
    """Connections that die in the TLS handshake must not keep a slot."""
    import socket
    s = sluiced_factory(listener_opts={"smtps": {"max_connections_per_ip": 2}})
    port = s.port("smtps")
    for _ in range(5):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        raw.sendall(b"EHLO this is not TLS\r\n")
        try:
            raw.recv(100)
        except OSError:
            pass
        raw.close()
    a = connect_until_admitted(port, tls=True)
    b = connect_until_admitted(port, tls=True)
    a.close()
    b.close()


def test_refusal_on_implicit_tls_port_is_not_plaintext(sluiced_factory):
    """RFC 8314 §3.3: on an implicit-TLS port everything is inside TLS. A
    refused connection may be closed, or refused with 421 after the handshake,
    but plaintext SMTP octets break the TLS framing of the client."""
    import socket
    s = sluiced_factory(listener_opts={"smtps": {"max_connections_per_ip": 1}})
    port = s.port("smtps")
    with connect(port, tls=True) as held:
        assert held.greeting.code == 220
        raw = socket.create_connection(("127.0.0.1", port), timeout=1)
        try:
            first = raw.recv(100)  # a TLS server sends nothing before the ClientHello
        except socket.timeout:
            first = b""
        finally:
            raw.close()
        assert not first.startswith(b"421"), (
            f"plaintext reply on the implicit-TLS port before any handshake: {first!r}")


def test_relay_clients_have_their_own_per_address_limit(sluiced_factory):
    """Application servers in a relay network open many connections each: they
    are held to max_connections_per_relay_client, other addresses to
    max_connections_per_ip."""
    s = sluiced_factory(config={"relay": {"networks": ["127.0.0.1/32"]}},
                        listener_opts={"relay": {"max_connections_per_ip": 2,
                                                 "max_connections_per_relay_client": 4}})
    port = s.port("relay")
    held = []
    try:
        for _ in range(4):
            held.append(connect(port, source="127.0.0.1"))
        assert [c.greeting.code for c in held] == [220] * 4
        with connect(port, source="127.0.0.1") as over:
            assert over.greeting.code == 421 and over.greeting.lines[-1].startswith("4.7.0")
        for _ in range(2):
            held.append(connect(port, source="127.0.0.2"))
        assert [c.greeting.code for c in held[4:]] == [220] * 2
        with connect(port, source="127.0.0.2") as over:
            assert over.greeting.code == 421, over.greeting
    finally:
        for c in held:
            c.close()


def _closed_by_server(sock, timeout):
    """True if the server closes `sock` (EOF or reset) within `timeout` seconds."""
    import socket
    sock.settimeout(timeout)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_implicit_tls_limits_apply_before_the_handshake(sluiced_factory):
    """Connections still in their TLS handshake hold a slot, and a connection
    over the limit is closed at once, not after tls_handshake_timeout: idle TCP
    connections from one address cannot pile up by the thousand."""
    import socket
    s = sluiced_factory(listener_opts={"smtps": {"max_connections_per_ip": 2,
                                                 "max_connections_per_relay_client": 2,
                                                 "tls_handshake_timeout": "3s"}})
    port = s.port("smtps")
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
    try:
        extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
        try:
            # The handshake timeout is 3 s: closed well inside 1 s means refused at accept.
            assert all(_closed_by_server(x, 1.0) for x in extra)
        finally:
            for x in extra:
                x.close()
        # The two idle ones hold their slots: a real client is refused too.
        refused = socket.create_connection(("127.0.0.1", port), timeout=5)
        assert _closed_by_server(refused, 1.0)
        refused.close()
        # Until their handshake times out and frees the slots.
        assert all(_closed_by_server(x, 10) for x in idle)
    finally:
        for x in idle:
            x.close()
    with connect_until_admitted(port, tls=True) as c:
        c.expect("NOOP", 250)
