#!/usr/bin/env python3
"""A server that speaks first, for t_tcp_mode: banner.py ADDRESS PORT

On each connection: sends "220 splicer-e2e banner\r\n" at once, echoes every byte it
receives, and when the client shuts its write side sends "BYE <bytes received>\r\n"
and closes. One thread per connection; logs one line per connection.
"""

import socket
import sys
import threading

BANNER = b"220 splicer-e2e banner\r\n"
# One log line per connection from many threads: written whole, under a lock (print
# writes the text and the newline apart, and lines of two threads could merge).
LOG = threading.Lock()


def log(line):
    with LOG:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def serve(conn, peer):
    n = 0
    try:
        conn.sendall(BANNER)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            n += len(chunk)
            conn.sendall(chunk)
        conn.sendall(b"BYE %d\r\n" % n)
        conn.shutdown(socket.SHUT_WR)
        # Until the client closes too.
        while conn.recv(65536):
            pass
        log("%s:%d %d bytes" % (peer[0], peer[1], n))
    except OSError as e:
        log("%s:%d %d bytes, %r" % (peer[0], peer[1], n, e))
    finally:
        conn.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((sys.argv[1], int(sys.argv[2])))
    srv.listen(1024)
    while True:
        conn, peer = srv.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
