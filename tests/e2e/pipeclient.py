#!/usr/bin/env python3
"""pipeclient.py HOST PORT [--burst N] [--trickle N] [--gap SECONDS] [--slow-every K]

The e2e tests' pipelining client (t_pipelining.sh): one TCP connection to HOST:PORT on
which it writes --burst requests (100) in ONE send(), then --trickle more (100), each
--gap seconds (0.005) after the one before, without waiting for any response. The
requests cycle through paths the test bed's rules and servers answer differently:

  GET /img/<n>                       rule path_prefix "/img/" -> s2, body "s2\\n"
  GET /?api=<n>, Host: api.test      rule host "api.test" -> s3, body "s3\\n"
  GET /files/100k?n=<n>              round robin, 102400 bytes of the test bed's stream
  HEAD /files/100k?n=<n>             round robin, Content-Length and no body
  GET /?n=<n>, If-Modified-Since     round robin, 304 and no body
  GET /files/1b?n=<n>                round robin, 1 byte
  GET /slow/100k?n=<n>               every K-th request (--slow-every, 0 = none): 2 s

A reader thread parses every response as it arrives (Content-Length, chunked, no body
for HEAD/304) and checks it against its request, in order: status, the X-Uri header the
test bed's nginx adds (the request's own URI: a response out of order or given to the
wrong request fails), the X-Server the rules demand, and the body byte for byte.

Prints one line:
  sent=N answered=N ok=N bad=N first_bad="..." seconds=S servers=s1:A,s2:B,s3:C end=...
and exits 0 when every request was answered correctly, 1 otherwise.
"""

import argparse
import socket
import sys
import threading
import time

IMS = "Sat, 01 Jan 2000 00:00:00 GMT"  # the mtime lib.sh gives index.html: nginx wants it exactly


def stream(size):
    """The first SIZE bytes of the test bed's file stream (seq -f %07.0f 0 2621439)."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += b"%07d\n" % i
        i += 1
    return bytes(out[:size])


F100K = stream(102400)
F1B = stream(1)


def plan(n, slow_every):
    """Request n: (bytes, expected status, expected server or None, expected body, head)."""
    kind = n % 6
    if slow_every and n % slow_every == slow_every - 1:
        uri = "/slow/100k?n=%d" % n
        return req("GET", uri), 200, uri, None, F100K, False
    if kind == 0:
        uri = "/img/%d" % n
        return req("GET", uri), 200, uri, "s2", b"s2\n", False
    if kind == 1:
        uri = "/?api=%d" % n
        return req("GET", uri, host="api.test"), 200, uri, "s3", b"s3\n", False
    if kind == 2:
        uri = "/files/100k?n=%d" % n
        return req("GET", uri), 200, uri, None, F100K, False
    if kind == 3:
        uri = "/files/100k?n=%d" % n
        return req("HEAD", uri), 200, uri, None, b"", True
    if kind == 4:
        uri = "/?n=%d" % n
        return req("GET", uri, extra="If-Modified-Since: %s\r\n" % IMS), 304, uri, None, b"", False
    uri = "/files/1b?n=%d" % n
    return req("GET", uri), 200, uri, None, F1B, False


def req(method, uri, host="www", extra=""):
    return ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pipeclient\r\n%s\r\n" % (method, uri, host, extra)).encode()


class Reader:
    """Reads and checks the responses, in order, as they come."""

    def __init__(self, sock, expected):
        self.sock = sock
        self.expected = expected
        self.buf = b""
        self.answered = 0
        self.ok = 0
        self.bad = 0
        self.first_bad = ""
        self.end = "open"
        self.servers = {}
        self.done = threading.Event()

    def fill(self):
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            self.end = "timeout"
            return False
        except ConnectionResetError:
            self.end = "reset"
            return False
        if not data:
            self.end = "eof"
            return False
        self.buf += data
        return True

    def need(self, n):
        while len(self.buf) < n:
            if not self.fill():
                return False
        return True

    def line(self):
        while b"\r\n" not in self.buf:
            if not self.fill():
                return None
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2 :]
        return out

    def response(self, head_request):
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                return None
        i = self.buf.index(b"\r\n\r\n")
        head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4 :]
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        if 100 <= status < 200:
            return self.response(head_request)
        body = b""
        if head_request or status in (204, 304):
            pass
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = self.line()
                if size is None:
                    return None
                n = int(size.split(b";")[0], 16)
                if n == 0:
                    while True:
                        t = self.line()
                        if t is None:
                            return None
                        if t == b"":
                            break
                    break
                if not self.need(n + 2):
                    return None
                body += self.buf[:n]
                self.buf = self.buf[n + 2 :]
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if not self.need(n):
                return None
            body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def run(self):
        try:
            for i, (_, status, uri, server, body, head) in enumerate(self.expected):
                r = self.response(head)
                if r is None:
                    break
                self.answered += 1
                got_status, headers, got_body = r
                srv = headers.get("x-server", "none")
                self.servers[srv] = self.servers.get(srv, 0) + 1
                problems = []
                if got_status != status:
                    problems.append("status %d, want %d" % (got_status, status))
                if headers.get("x-uri") != uri:
                    problems.append("x-uri %r, want %r" % (headers.get("x-uri"), uri))
                if server and srv != server:
                    problems.append("server %s, want %s" % (srv, server))
                if got_body != body:
                    problems.append("body of %d bytes differs (want %d)" % (len(got_body), len(body)))
                if head and headers.get("content-length") != str(len(F100K)):
                    problems.append("HEAD content-length %r" % headers.get("content-length"))
                if problems:
                    self.bad += 1
                    if not self.first_bad:
                        self.first_bad = "request %d %s: %s" % (i, uri, "; ".join(problems))
                else:
                    self.ok += 1
        finally:
            self.done.set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--trickle", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--slow-every", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    total = a.burst + a.trickle
    expected = [plan(n, a.slow_every) for n in range(total)]
    sock = socket.create_connection((a.host, a.port), timeout=10)
    sock.settimeout(a.timeout)
    reader = Reader(sock, expected)
    t = threading.Thread(target=reader.run, daemon=True)
    start = time.monotonic()
    t.start()
    sent = 0
    try:
        sock.sendall(b"".join(e[0] for e in expected[: a.burst]))
        sent = a.burst
        for e in expected[a.burst :]:
            time.sleep(a.gap)
            sock.sendall(e[0])
            sent += 1
    except OSError as e:
        reader.end = "send failed: %s" % e
    reader.done.wait(a.timeout + 5)
    seconds = time.monotonic() - start
    sock.close()
    servers = ",".join("%s:%d" % kv for kv in sorted(reader.servers.items()))
    print(
        'sent=%d answered=%d ok=%d bad=%d first_bad="%s" seconds=%.2f servers=%s end=%s'
        % (sent, reader.answered, reader.ok, reader.bad, reader.first_bad, seconds, servers, reader.end)
    )
    return 0 if reader.ok == total and sent == total else 1


if __name__ == "__main__":
    sys.exit(main())
