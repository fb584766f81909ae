#!/usr/bin/env python3
"""Raw TCP clients for t_tcp_mode (a `mode = "tcp"` virtual, passed through).

    tcpclient.py banner HOST PORT SIZE     speak-second dialogue with banner.py (below)
    tcpclient.py many HOST PORT N SIZE     N banner dialogues at once
    tcpclient.py reset HOST PORT           the peer must reset the connection
    tcpclient.py hold HOST PORT SECONDS    read the banner, then stay connected

banner: connects, reads the server's banner before sending anything (the server
speaks first), sends SIZE random bytes while reading their echo (byte-exact), shuts
its write side (half-close) and must still receive "BYE <SIZE>" and then the server's
FIN. Prints one line "ok ..." (exit 0) or "fail ..." (exit 1).
"""

import os
import socket
import sys
import threading
import time

BANNER = b"220 splicer-e2e banner\r\n"


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def banner(host, port, size):
    s = socket.create_connection((host, port), timeout=10)
    t0 = time.monotonic()
    got = recv_exact(s, len(BANNER))
    waited = time.monotonic() - t0
    if got != BANNER:
        return "banner %r after %.3fs" % (got, waited)
    data = os.urandom(size)
    sender = threading.Thread(target=s.sendall, args=(data,))
    sender.start()
    echo = recv_exact(s, size)
    sender.join()
    if echo != data:
        same = next((i for i, (a, b) in enumerate(zip(echo, data)) if a != b), len(echo))
        return "echo: %d of %d bytes, first difference at %d" % (len(echo), size, same)
    s.shutdown(socket.SHUT_WR)
    want = b"BYE %d\r\n" % size
    bye = recv_exact(s, len(want))
    if bye != want:
        return "after the half-close: %r, want %r" % (bye, want)
    rest = s.recv(1)
    if rest != b"":
        return "no FIN after BYE: %r" % rest
    s.close()
    return None


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "banner":
        size = int(sys.argv[4])
        err = banner(host, port, size)
        print("fail " + err if err else "ok banner, %d bytes echoed, BYE after half-close, FIN" % size)
        return 1 if err else 0
    if mode == "many":
        n, size = int(sys.argv[4]), int(sys.argv[5])
        errors = []

        def one():
            try:
                err = banner(host, port, size)
            except OSError as e:
                err = repr(e)
            if err:
                errors.append(err)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(("fail %d of %d: %s" % (len(errors), n, errors[:3])) if errors else "ok %d dialogues" % n)
        return 1 if errors else 0
    if mode == "reset":
        t0 = time.monotonic()
        try:
            s = socket.create_connection((host, port), timeout=10)
            got = s.recv(1)
            print("fail: no reset, got %r after %.3fs" % (got, time.monotonic() - t0))
            return 1
        except ConnectionResetError:
            print("ok reset after %.3f s" % (time.monotonic() - t0))
            return 0
        except OSError as e:
            print("fail: %r after %.3fs" % (e, time.monotonic() - t0))
            return 1
    if mode == "hold":
        s = socket.create_connection((host, port), timeout=10)
        got = recv_exact(s, len(BANNER))
        time.sleep(float(sys.argv[4]))
        s.close()
        print("ok held" if got == BANNER else "fail banner %r" % got)
        return 0 if got == BANNER else 1
    print("unknown mode " + mode)
    return 2


if __name__ == "__main__":
    sys.exit(main())
