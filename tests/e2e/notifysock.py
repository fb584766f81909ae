#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify, NOTIFY_SOCKET) for the
end-to-end tests: binds a Unix datagram socket at PATH and appends every datagram it
receives to OUT as one line (the message's own newlines become spaces), flushed at once,
until it is killed.

    notifysock.py PATH OUT
"""
import os
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out, "a", encoding="utf-8") as f:
        print("listening", file=f, flush=True)
        while True:
            data = sock.recv(4096)
            f.write(data.decode("utf-8", "replace").strip().replace("\n", " ") + "\n")
            f.flush()


if __name__ == "__main__":
    main()
