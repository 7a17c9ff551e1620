"""An HTTPS server for MTA-STS policies (RFC 8461 §3.3): Python's http.server
with ssl, on its own 127.0.0.x address, port 443 when it can bind it (else a
free port: give sluiced [delivery] mta_sts_port, and further servers port=).

PolicyServer(address, cert_chain, key).policy(host, text) serves `text` as
https://host/.well-known/mta-sts.txt (text/plain); .respond(host, status,
content_type, body) scripts anything else. Requests are counted per host.
POSTs (TLS reports, RFC 8460 §5.4) are kept in .posts as (path,
content type, body) and answered 200.
"""

import http.server
import ssl
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server.owner
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with server.lock:
            server.requests.append((host, self.path))
            status, ctype, body = server.answers.get((host, self.path), (404, "text/plain", b""))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if 300 <= status < 400:
            self.send_header("Location", "https://elsewhere.example/.well-known/mta-sts.txt")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        server = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with server.lock:
            server.posts.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class PolicyServer:
    PATH = "/.well-known/mta-sts.txt"

    def __init__(self, address, cert_chain, key, port=None):
        self.address = address
        self.lock = threading.Lock()
        self.answers = {}
        self.requests = []
        self.posts = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert_chain), str(key))
        if port is not None:
            self.httpd = http.server.ThreadingHTTPServer((address, port), _Handler)
        else:
            try:
                self.httpd = http.server.ThreadingHTTPServer((address, 443), _Handler)
            except OSError:
                self.httpd = http.server.ThreadingHTTPServer((address, 0), _Handler)
        self.port = self.httpd.server_address[1]
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def policy(self, host, text):
        return self.respond(host, 200, "text/plain", text.encode())

    def respond(self, host, status, content_type, body):
        with self.lock:
            self.answers[(host, self.PATH)] = (status, content_type, body)
        return self

    def count(self, host):
        with self.lock:
            return sum(1 for h, _ in self.requests if h == host)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
