#!/usr/bin/env python3
"""slowreader.py HOST PATH RATE MAX_TIME : a slow download that sees a reset at once
(lib.sh, tb_slow_download).

GETs http://HOST/PATH (Host: www) and reads the response in 16 KiB reads at RATE bytes a
second, with a receive buffer of 64 KiB, for MAX_TIME seconds at most.

Why not `curl --limit-rate`: curl lets its socket fill (Linux grows the receive buffer to
several MB) and reads it at the rate asked, so a reset is seen only once the data queued
before it has been read, which at 500 kB/s is up to 12 s later; and curl stops watching the
socket for as long as its rate budget says. A reset here is seen within a read or two.

Exit code, as curl's: 0 the whole body (Content-Length) arrived; 56 the connection was
reset (or another receive error); 18 it ended before the whole body; 28 MAX_TIME passed;
7 it could not connect. Prints one line: "end=done|reset|short|timeout|refused bytes=N".
"""
import socket
import sys
import time


def main():
    host, path, rate, max_time = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    deadline = time.monotonic() + max_time
    c = socket.socket()
    # Set before connecting, so that the window offered is small from the start.
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    c.settimeout(max_time)
    try:
        c.connect((host, 80))
        c.sendall(b"GET /" + path.lstrip("/").encode() + b" HTTP/1.1\r\nHost: www\r\n\r\n")
    except OSError:
        print("end=refused bytes=0")
        return 7
    got, head, want = 0, b"", None
    started = time.monotonic()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print(f"end=timeout bytes={got}")
            return 28
        c.settimeout(left)
        try:
            b = c.recv(16384)
        except socket.timeout:
            print(f"end=timeout bytes={got}")
            return 28
        except OSError:
            print(f"end=reset bytes={got}")
            return 56
        if not b:
            print(f"end=short bytes={got}")
            return 18
        got += len(b)
        if want is None:
            head += b
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                for line in head[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        want = end + 4 + int(value)
                want = want or -1
        if want is not None and want > 0 and got >= want:
            print(f"end=done bytes={got}")
            return 0
        # Keep to RATE: sleep until the bytes read so far are due.
        ahead = started + got / rate - time.monotonic()
        if ahead > 0:
            time.sleep(min(ahead, max(0.0, deadline - time.monotonic())))


sys.exit(main())
