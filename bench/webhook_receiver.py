"""A webhook receiver for the benchmarks: answers 200 to every POST at once
and counts the records it was given (Python's threading HTTP server, HTTP/1.1
keep-alive), so Sluice's webhook sender is what is measured. It shares the
machine with Sluice, so it does as little as it can: it counts the records'
opening `{"event_id":"` rather than parse the JSON (the e2e tests parse and
verify every batch)."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.events = 0
        self.posts = 0
        self.last_at = None
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                n = body.count(b'{"event_id":"')
                with receiver.lock:
                    receiver.events += n
                    receiver.posts += 1
                    receiver.last_at = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def count(self):
        with self.lock:
            return self.events, self.posts, self.last_at

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def config(self, name="bench"):
        """The [[webhook]] table that sends every record here."""
        return (f'\n[[webhook]]\nname = "{name}"\nurl = "http://{self.host}:{self.port}/hook"\n'
                'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
