#!/usr/bin/env python3
"""A delaying HTTP/1.1 server for the end-to-end tests (t_predictors): keep-alive (Splicer
pools its connections), every GET answered "slow\n" with X-Server: NAME after DELAY_MS
milliseconds, one thread per connection. Debian's nginx-light has no echo module
(`echo_sleep`), hence this.

    slowserver.py ADDRESS PORT NAME DELAY_MS
"""
import http.server
import socketserver
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        time.sleep(DELAY)
        body = b"slow\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Server", NAME)
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


if __name__ == "__main__":
    address, port, NAME, delay_ms = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    DELAY = int(delay_ms) / 1000.0
    Server((address, port), Handler).serve_forever()
