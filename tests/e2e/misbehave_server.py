#!/usr/bin/env python3
"""misbehave_server.py ADDRESS : a keep-alive HTTP/1.1 server that misbehaves on request.

t_misbehave_server's real. It listens on ADDRESS:80, reads each request on a connection
(head, then a Content-Length or chunked body; trailers are read and dropped) and answers
by the request's path. Every response it means to send has an `X-M` header naming its
case; the bytes it should never have sent are SMUGGLED, a whole response with
`X-M: smuggled`, so a client that ever reads them as a response of its own shows it.

    /m/ok        200, Content-Length 3, "ok\\n"
    /m/extra     /m/ok's response and SMUGGLED in the same send
    /m/extralate /m/ok's response, then SMUGGLED 0.5 s later on the idle connection
    /m/clte      Content-Length 3 and Transfer-Encoding: chunked (a chunked "hello")
    /m/twocl     Content-Length 3 and Content-Length 50, then "ok\\n" only
    /m/cont2     100 Continue twice, then /m/ok's response
    /m/hints     103 Early Hints with a Link header, 50 ms later /m/ok's response
    /m/204body   204 with Content-Length and SMUGGLED as its "body"
    /m/304body   304 with Content-Length and SMUGGLED as its "body"
    /m/headbody  (HEAD) 200 with Content-Length and SMUGGLED as a body
    /m/headcl    (HEAD) 200, Content-Length 100000, no body (correct)
    /m/http10    an HTTP/1.0 response without a length: 20,000 bytes "a", then close
    /m/rstafter  /m/ok's response, then a reset at once (SO_LINGER 0)
    /m/closenext /m/ok's response; the next request on the connection is never answered:
                 the connection is reset (SO_LINGER 0) as it arrives (the keep-alive race)
    /m/finnext   the same, closed with a FIN instead
    /m/idle50    /m/ok's response; the connection is closed if no request follows in 50 ms
    /m/closehead half a head, then a FIN
    /m/rsthead   half a head, then a reset
    /m/expect200 a final 200 at once to a request with Expect: 100-continue, its body unread
    /m/slowread  (POST) the body read only 3 s after the head (a tiny receive buffer: the
                 window closes), then 200 "len=N sha256=HEX\\n"
    /m/chunked   a chunked "ok\\n" with a chunk extension and a trailer
    /m/lf        /m/ok's response with bare LF line ends
    anything else 404

One log line per request on stdout: "conn=C n=K METHOD PATH body=N".
"""

import hashlib
import itertools
import select
import socket
import struct
import sys
import threading
import time

SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-M: smuggled\r\n\r\nsmuggled\n"


def response(case, body=b"ok\n", status="200 OK", extra=b""):
    return (
        b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\nX-M: " + case.encode() + b"\r\n" + extra + b"\r\n" + body
    )


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        fields = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            fields[k.strip().lower()] = v.strip()
        return method, path, fields

    def body(self, fields):
        if "chunked" in fields.get("transfer-encoding", "").lower():
            out = b""
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line():
                        pass
                    return out
                out += self.exact(size)
                self.line()
        return self.exact(int(fields.get("content-length", "0")))


def serve(sock, cid):
    conn = Conn(sock)
    send = sock.sendall
    close_next = None
    for n in itertools.count(1):
        method, path, fields = conn.head()
        if close_next:
            # The keep-alive race, made certain: the server decided to close this idle
            # connection just as the next request arrived; it is never answered.
            print("conn=%d n=%d %s %s closed unanswered (%s)" % (cid, n, method, path, close_next),
                  flush=True)
            if close_next == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_WR)
                time.sleep(0.2)
            return
        expect = fields.get("expect", "").lower() == "100-continue"
        case = path.split("?")[0][len("/m/"):] if path.startswith("/m/") else ""
        body = b""
        if case == "expect200" and expect:
            pass  # answered at once, the body never read
        elif case == "slowread":
            if expect:
                send(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(3)
            body = conn.body(fields)
        else:
            if expect:
                send(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = conn.body(fields)
        print("conn=%d n=%d %s %s body=%d" % (cid, n, method, path, len(body)), flush=True)
        ok = response(case or "none")
        if case in ("ok", "expect200"):
            send(ok)
        elif case == "extra":
            send(ok + SMUGGLED)
        elif case == "extralate":
            send(ok)
            time.sleep(0.5)
            send(SMUGGLED)
        elif case == "clte":
            send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
                 b"X-M: clte\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        elif case == "twocl":
            send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 50\r\n"
                 b"X-M: twocl\r\n\r\nok\n")
        elif case == "cont2":
            send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(0.05)
            send(ok)
        elif case == "hints":
            send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            time.sleep(0.05)
            send(ok)
        elif case in ("204body", "304body"):
            status = b"204 No Content" if case == "204body" else b"304 Not Modified"
            send(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(SMUGGLED)).encode()
                 + b"\r\nX-M: " + case.encode() + b"\r\n\r\n" + SMUGGLED)
        elif case == "headbody":
            send(response(case, SMUGGLED))
        elif case == "headcl":
            send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nX-M: headcl\r\n\r\n")
        elif case == "http10":
            send(b"HTTP/1.0 200 OK\r\nX-M: http10\r\n\r\n" + b"a" * 20000)
            sock.shutdown(socket.SHUT_WR)
            return
        elif case in ("closenext", "finnext"):
            send(ok)
            close_next = "rst" if case == "closenext" else "fin"
        elif case == "idle50":
            # Closes the connection when no request follows within 50 ms (a short
            # keep-alive timeout).
            send(ok)
            if not conn.buf and not select.select([sock], [], [], 0.05)[0]:
                return
        elif case == "rstafter":
            send(ok)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        elif case in ("closehead", "rsthead"):
            send(b"HTTP/1.1 200 OK\r\nContent-Le")
            time.sleep(0.2)
            if case == "rsthead":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_WR)
            return
        elif case == "slowread":
            digest = hashlib.sha256(body).hexdigest()
            send(response(case, ("len=%d sha256=%s\n" % (len(body), digest)).encode()))
        elif case == "chunked":
            send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n"
                 b"X-M: chunked\r\n\r\n3;ext=\"v\"\r\nok\n\r\n0\r\nX-T: end\r\n\r\n")
        elif case == "lf":
            send(b"HTTP/1.1 200 OK\nContent-Length: 3\nX-M: lf\n\nok\n")
        else:
            send(response("none", b"no\n", "404 Not Found"))


def run(sock, cid):
    try:
        serve(sock, cid)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        sock.close()


def main():
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive buffer (inherited by accepted sockets) so that /m/slowread's
    # unread body closes the window.
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lsock.bind((sys.argv[1], 80))
    lsock.listen(128)
    for cid in itertools.count(1):
        sock, _ = lsock.accept()
        threading.Thread(target=run, args=(sock, cid), daemon=True).start()


if __name__ == "__main__":
    main()
