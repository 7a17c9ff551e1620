"""The spool on a file system that fills up (a tmpfs of the test's own).

With a disk floor or without one, sluiced answers 452/451 when it cannot
store, never 250 for mail it then loses; it stays up, stops and starts on the
full disk, frees space by delivering what it holds, and takes mail again by
itself. Every message that got 250 is delivered exactly once (counted at the
sink), before and after a restart.

Needs root, for the tmpfs.
"""

import json
import os
import time

import pytest

from mx import body, wait_until

MIB = 1 << 20
BODY = "".join(f"line {i:05} of a message that fills the spool\r\n" for i in range(4000))  # ~200 KB


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def spool_status(s):
    return json.loads(s.cli("spool", "status", "--json").stdout)


def send(s, tag):
    """One message over the relay listener; the final reply code (MAIL's if it was refused)."""
    from smtp_client import connect

    with connect(s.port("relay")) as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<sender@src.example>")
        if r.code != 250:
            return r.code
        assert c.cmd("RCPT TO:<rcpt@dest.example>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(body(tag, text=BODY) + ".\r\n")
        code = c.reply().code
        c.cmd("QUIT")
        return code


def subjects(sink):
    out = {}
    for m in sink.messages:
        tag = m.header("Subject")
        out[tag] = out.get(tag, 0) + 1
    return out


@pytest.mark.parametrize("floor", ["4MiB", "0"], ids=["floor", "no-floor"])
def test_full_spool_refuses_recovers_and_delivers_exactly_once(mx_lab, tmpfs, delivering_sluiced,
                                                              floor):
    fs = tmpfs("32m")
    sink = mx_lab.sink("mx1")
    mx_lab.dns.mx("dest.example", "mx1.dest.example", 10).a("mx1.dest.example", sink.address)
    s = delivering_sluiced(config={"spool": {"path": str(fs / "spool"), "min_free_disk": floor,
                                             "memtable_size": "1MiB"}})
    assert spool_status(s)["accepting"]
    s.cli("queue", "suspend", "dest.example")  # nothing leaves: the spool fills

    accepted, failed = [], []
    lowest = free_bytes(fs)
    refused_in_a_row = 0
    for i in range(400):
        code = send(s, f"m{i}")
        assert code in (250, 451, 452), f"message {i}: {code}"
        (accepted if code == 250 else failed).append(f"m{i}")
        lowest = min(lowest, free_bytes(fs))
        refused_in_a_row = 0 if code == 250 else refused_in_a_row + 1
        if refused_in_a_row >= 5:
            break
    assert refused_in_a_row >= 5, "the spool never filled"
    assert len(accepted) >= 20, accepted
    st = spool_status(s)
    assert st["refused"] >= 1 or refused_in_a_row >= 5, st
    if floor != "0":
        # The floor holds: stores stop before free space goes under it.
        assert lowest >= 4 * MIB, lowest
        assert st["write_failures"] == 0, st
    else:
        assert st["write_failures"] >= 1, st  # the disk really filled

    # Stop and start on the full disk.
    assert s.stop() == 0, s.output()[-3000:]
    s.restart()
    assert s.spool_count() == len(accepted)

    # Delivering frees the space; sluiced takes mail again by itself.
    s.cli("queue", "resume", "dest.example", check=False)
    later = []

    def takes_mail_again():
        tag = f"later{len(later)}"
        later.append(tag)
        if send(s, tag) == 250:
            accepted.append(tag)
            return True
        failed.append(tag)
        return False

    wait_until(takes_mail_again, 90, interval=0.5, what="sluiced taking mail again")
    sink.wait_messages(len(accepted), 60)
    wait_until(lambda: s.spool_count() == 0, 30, interval=0.2, what="an empty spool")
    got = subjects(sink)
    assert {t: n for t, n in got.items() if n != 1} == {}, "delivered more than once"
    assert set(accepted) <= set(got), set(accepted) - set(got)
    assert set(got) <= set(accepted) | set(failed), set(got) - set(accepted) - set(failed)
    if floor != "0":  # refused by the floor, never written: never delivered
        assert not set(got) & set(failed), set(got) & set(failed)

    # A restart finds nothing left to deliver again.
    delivered = len(sink.messages)
    assert s.stop() == 0
    s.restart()
    assert s.spool_count() == 0
    assert send(s, "final") == 250
    sink.wait_messages(delivered + 1, 30)
    assert subjects(sink).get("final") == 1 and len(sink.messages) == delivered + 1
