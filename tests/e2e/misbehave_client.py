#!/usr/bin/env python3
"""misbehave_client.py : the raw clients of t_misbehave_server and t_misbehave_client.

    misbehave_client.py seq HOST PORT REQ...
        One connection; each REQ ("PATH", "HEAD PATH", "POST PATH SIZE",
        "EXPECT PATH SIZE": a POST with Expect: 100-continue whose body follows 1 s
        later, or at once on a 100) is sent after the previous response was read in full
        (1xx responses are read and listed too; a REQ "+SECONDS" sleeps instead). After
        the last it waits 0.5 s for bytes
        nobody asked for. One line per response:
            R<i> status=S m=X-M len=BODY_LEN body=FIRST_90_BYTES_REPR interim=100,103
        then "end=open|eof|reset|timeout extra=N" (extra: bytes received after the last
        response). A response that cannot be read in 5 s prints "R<i> status=timeout".

    misbehave_client.py pipe HOST PORT PATH...
        One connection; a GET of each PATH, all in one send (pipelined), then the
        responses read: "R<i> status=S m=X-M len=BODY_LEN" each, then "end=...".

    misbehave_client.py halfclose HOST PORT N PATH
        Sends N pipelined GETs of PATH in one send, shuts its write side (half-close),
        reads until the peer closes. Prints "responses=N statuses=... end=eof|reset|timeout
        sha256=<of the last body>".

    misbehave_client.py zerowin HOST PORT PATH SECONDS
        A tiny receive buffer; sends the GET, reads nothing for SECONDS, then reads the
        whole response. Prints "status=S len=N sha256=HEX end=...".

    misbehave_client.py rstmid HOST PORT PATH BYTES
        Sends the GET, reads BYTES of the response, then resets (SO_LINGER 0). Prints
        "read=N".
"""

import hashlib
import socket
import struct
import sys
import time


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.end = "open"

    def fill(self):
        if self.end != "open":
            raise EOFError
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self.end = "timeout"
            raise EOFError
        except ConnectionResetError:
            self.end = "reset"
            raise EOFError
        if not data:
            self.end = "eof"
            raise EOFError
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                return line.rstrip(b"\r")
            self.fill()

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def rest(self):
        try:
            while True:
                self.fill()
        except EOFError:
            pass
        data, self.buf = self.buf, b""
        return data

    def response(self, head_request):
        """(status, X-M, body, [interim statuses]) of the next response."""
        interim = []
        while True:
            status = int(self.line().split(b" ")[1])
            fields = {}
            while True:
                ln = self.line()
                if not ln:
                    break
                k, _, v = ln.decode("latin-1").partition(":")
                fields.setdefault(k.strip().lower(), v.strip())
            if 100 <= status < 200 and status != 101:
                interim.append(status)
                continue
            break
        m = fields.get("x-m", "-")
        if head_request or status in (204, 304):
            return status, m, b"", interim
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    break
                body += self.exact(size)
                self.line()
            return status, m, body, interim
        if "content-length" in fields:
            return status, m, self.exact(int(fields["content-length"])), interim
        return status, m, self.rest(), interim


def request(method, path, size=0, expect=False):
    head = "%s %s HTTP/1.1\r\nHost: www\r\n" % (method, path)
    if method == "POST":
        head += "Content-Length: %d\r\n" % size
    if expect:
        head += "Expect: 100-continue\r\n"
    return (head + "\r\n").encode()


def seq(host, port, reqs):
    s = socket.create_connection((host, int(port)), timeout=5)
    r = Reader(s)
    reqs = list(reqs)
    i = 0
    while reqs:
        spec = reqs.pop(0)
        if spec.startswith("+"):
            time.sleep(float(spec[1:]))
            continue
        i += 1
        words = spec.split()
        method, path = ("GET", words[0]) if len(words) == 1 else (words[0], words[1])
        size = int(words[2]) if len(words) > 2 else 0
        body = bytes((i * 7 + k) % 251 for k in range(size))
        try:
            if method == "EXPECT":
                s.sendall(request("POST", path, size, expect=True))
                s.settimeout(1)
                try:
                    r.fill()
                except EOFError:
                    if r.end != "timeout":
                        raise
                    r.end = "open"
                s.settimeout(5)
                if not r.buf.startswith(b"HTTP/1.1 100"):
                    # A final answer at once: the client sends no body (RFC 9110
                    # 10.1.1 allows either) and reads it.
                    body = b""
                s.sendall(body)
                st, m, got, interim = r.response(False)
            else:
                s.sendall(request(method, path, size) + body)
                st, m, got, interim = r.response(method == "HEAD")
        except (EOFError, OSError, ValueError, IndexError) as e:
            print("R%d status=%s (%s)" % (i, r.end if isinstance(e, EOFError) else "error", e))
            break
        print("R%d status=%d m=%s len=%d body=%r interim=%s" % (
            i, st, m, len(got), got[:90], ",".join(map(str, interim)) or "-"))
    s.settimeout(0.5)
    try:
        while True:
            r.fill()
    except EOFError:
        pass
    extra = len(r.buf)
    if extra:
        print("extra bytes: %r" % r.buf[:200])
    print("end=%s extra=%d" % (r.end if r.end != "timeout" else "open", extra))


def pipe(host, port, paths):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"".join(request("GET", p) for p in paths))
    r = Reader(s)
    for i in range(1, len(paths) + 1):
        try:
            st, m, got, _ = r.response(False)
        except (EOFError, OSError, ValueError, IndexError) as e:
            print("R%d status=%s (%s)" % (i, r.end if isinstance(e, EOFError) else "error", e))
            break
        print("R%d status=%d m=%s len=%d" % (i, st, m, len(got)))
    print("end=%s" % (r.end if r.end != "timeout" else "open"))


def halfclose(host, port, n, path):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(request("GET", path) * int(n))
    s.shutdown(socket.SHUT_WR)
    r = Reader(s)
    statuses, last = [], b""
    try:
        for _ in range(int(n)):
            st, _, last, _ = r.response(False)
            statuses.append(str(st))
        r.rest()
    except (EOFError, ValueError, IndexError):
        pass
    print("responses=%d statuses=%s end=%s sha256=%s" % (
        len(statuses), ",".join(statuses) or "-", r.end, hashlib.sha256(last).hexdigest()))


def zerowin(host, port, path, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.settimeout(30)
    s.connect((host, int(port)))
    s.sendall(request("GET", path))
    time.sleep(float(seconds))
    r = Reader(s)
    try:
        st, _, body, _ = r.response(False)
    except (EOFError, ValueError, IndexError):
        st, body = 0, b""
    print("status=%d len=%d sha256=%s end=%s" % (st, len(body), hashlib.sha256(body).hexdigest(), r.end))


def rstmid(host, port, path, nbytes):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(request("GET", path))
    got = 0
    while got < int(nbytes):
        data = s.recv(65536)
        if not data:
            break
        got += len(data)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("read=%d" % got)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"seq": lambda: seq(args[0], args[1], args[2:]),
     "pipe": lambda: pipe(args[0], args[1], args[2:]),
     "halfclose": lambda: halfclose(*args),
     "zerowin": lambda: zerowin(*args),
     "rstmid": lambda: rstmid(*args)}[cmd]()


if __name__ == "__main__":
    main()
