"""Many concurrent sessions, each sending several messages.

RFC 5321 §4.2.5 and §6.1: every 250 after the data is one message the server
is now responsible for, with its own id, whatever the interleaving.
"""

import threading

from smtp_client import connect

THREADS = 8
PER_THREAD = 5


def test_parallel_clients(sluiced):
    results = {}
    errors = []

    def client(n):
        try:
            with connect(sluiced.port("relay")) as c:
                c.ehlo(f"c{n}.test")
                ids = []
                for i in range(PER_THREAD):
                    r = c.send_message(f"t{n}@example.org", [f"r{i}@example.net"],
                                       f"Subject: {n}/{i}\r\n\r\n" + "z" * (n * 100 + i) + "\r\n")
                    ids.append(r.queued_id())
                c.expect("QUIT", 221)
                results[n] = ids
        except Exception as e:  # reported below, in the main thread
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    all_ids = [i for ids in results.values() for i in ids]
    assert len(all_ids) == THREADS * PER_THREAD and all(all_ids)
    assert len(set(all_ids)) == len(all_ids)
    events = sluiced.wait_events(len(all_ids))
    assert sorted(e["id"] for e in events) == sorted(all_ids)
    by_id = {e["id"]: e for e in events}
    for n, ids in results.items():
        for i, mid in enumerate(ids):
            assert by_id[mid]["sender"] == f"t{n}@example.org"
            assert by_id[mid]["recipients"] == [f"r{i}@example.net"]
            assert by_id[mid]["helo"] == f"c{n}.test"
    assert sluiced.spool_count() == len(all_ids)
