"""File descriptors: sluiced raises its soft RLIMIT_NOFILE to the hard limit,
keeps server.reserved_descriptors back from inbound sessions, and when it is
out of descriptors all the same an over-limit client still gets
`421 4.7.0` (RFC 5321 §3.1: a server may refuse a connection with 421) instead
of hanging in the listen backlog with no greeting.
"""

import os
import resource
import socket

from mx import wait_until
from smtp_client import connect


def limit_descriptors(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_files_limit(pid):
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no Max open files line")


def greeting_of(sock, timeout=15):
    """The first reply line the server sends, or None if it sends none in time."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(200)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data.split(b"\r\n")[0] if b"\r\n" in data else None


def test_soft_limit_is_raised_to_the_hard_limit(sluiced_factory):
    s = sluiced_factory(start=False)
    s.preexec = limit_descriptors(1024, 4096)
    s.start()
    assert open_files_limit(s.pid) == (4096, 4096)
    with s.connect() as c:
        c.expect("NOOP", 250)


def test_a_limit_below_the_reserve_is_refused_at_start(sluiced_factory):
    s = sluiced_factory(start=False, config={"server": {"hostname": "mx.test",
                                                        "reserved_descriptors": 512}})
    s.preexec = limit_descriptors(256, 256)
    try:
        s.start()
    except AssertionError as e:
        assert "reserved_descriptors" in str(e)
    else:
        raise AssertionError("sluiced started with 256 descriptors and a reserve of 512")


def test_clients_past_the_inbound_budget_get_421(sluiced_factory):
    # 300 descriptors less a reserve of 200: 100 inbound sessions in all,
    # though the relay listener alone would allow 1,000.
    s = sluiced_factory(start=False, config={"server": {"hostname": "mx.test",
                                                        "reserved_descriptors": 200}})
    s.preexec = limit_descriptors(300, 300)
    s.start()
    held = []
    try:
        for _ in range(100):
            held.append(connect(s.port("relay")))
        assert all(c.greeting.code == 220 for c in held)
        for listener in ("relay", "submission"):
            with connect(s.port(listener)) as over:
                assert over.greeting.code == 421, over.greeting
                assert over.greeting.lines[-1].startswith("4.7.0"), over.greeting
        # The reserve is intact: the spool still takes a message.
        c = held[0]
        c.ehlo()
        c.expect("MAIL FROM:<a@example.org>", 250)
        c.expect("RCPT TO:<b@example.net>", 250)
        c.expect("DATA", 354)
        c.send("Subject: reserve\r\n\r\nbody\r\n.\r\n")
        assert c.reply().queued_id()
    finally:
        for c in held:
            c.close()
    wait_until(lambda: len(s.events()) == 1, 10, what="the Reception event")


def test_out_of_descriptors_a_client_still_gets_421(sluiced_factory):
    # A reserve smaller than what sluiced itself holds open: the process runs
    # out of descriptors before the inbound budget is reached.
    limit = 100
    s = sluiced_factory(start=False, config={"server": {"hostname": "mx.test",
                                                        "reserved_descriptors": 16}})
    s.preexec = limit_descriptors(limit, limit)
    s.start()
    socks = []
    try:
        greetings = []
        for _ in range(limit + 20):
            x = socket.create_connection(("127.0.0.1", s.port("relay")), timeout=5)
            socks.append(x)
            greetings.append(greeting_of(x))
        # The fault bit: sluiced really had every descriptor in use.
        assert len(os.listdir(f"/proc/{s.pid}/fd")) >= limit - 2
        assert None not in greetings, "a client got no greeting at all"
        refused = [g for g in greetings if g.startswith(b"421 4.7.0")]
        assert refused and all(g.startswith(b"220 ") for g in greetings[:50]), greetings
    finally:
        for x in socks:
            x.close()
    # Once the clients are gone, sluiced serves again.
    def admitted():
        with connect(s.port("relay")) as c:
            return c.greeting.code == 220
    wait_until(admitted, 15, interval=0.2, what="a 220 greeting again")
