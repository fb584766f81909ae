#!/usr/bin/env python3
"""rawhttp.py HOST PORT WAIT PIECE... : the e2e tests' raw HTTP client (lib.sh, tb_raw_http).

Opens one TCP connection to HOST:PORT and sends each PIECE in turn: a PIECE "+SECONDS"
(like "+0.5") sleeps instead, any other is sent as bytes after C-style escapes (\\r \\n \\t
\\\\ \\xNN). A reader thread collects the answer from the start, so an answer (and a close)
that comes while pieces are still being sent is seen too. After the last piece it reads
until the peer closes or resets, or until WAIT seconds have passed.

Prints one line:  statuses=400,200 end=eof|reset|timeout|refused bytes=N sent=all|partial
  statuses  the status codes of the responses received, in order (100s included),
            framed by Content-Length or chunked; "000" when there was none
  end       how the connection ended: the peer closed (eof), reset it (reset), was still
            open after WAIT seconds (timeout), the connection failed (refused), or
            another socket error (error)
  bytes     how many bytes were received
  sent      "partial" when sending failed halfway (the peer had closed or reset)
With RAWHTTP_DUMP=FILE in the environment the bytes received are also written to FILE.
Exit code 0 unless the arguments are wrong.
"""

import codecs
import os
import re
import socket
import sys
import threading
import time


def statuses(data):
    """The status codes of the responses in data, framed by their heads (Content-Length,
    chunked, no body for 1xx/204/304; anything else runs to the end). A request sent with
    HEAD would confuse it: the tests do not send HEAD with this client."""
    codes = []
    pos = 0
    while pos < len(data):
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n", data[pos:])
        end = data.find(b"\r\n\r\n", pos)
        if not m or end < 0:
            break
        code = int(m.group(1))
        codes.append("%03d" % code)
        head = data[pos:end].decode("latin-1").lower()
        pos = end + 4
        if code < 200 or code in (204, 304):
            continue
        length = re.search(r"\r\ncontent-length:[ \t]*(\d+)", head)
        if re.search(r"\r\ntransfer-encoding:[^\r]*chunked", head):
            while True:
                line_end = data.find(b"\r\n", pos)
                if line_end < 0:
                    return codes
                size = int(data[pos:line_end].split(b";")[0].strip() or b"0", 16)
                pos = line_end + 2
                if size == 0:
                    trailer_end = data.find(b"\r\n", pos)
                    while trailer_end > pos:  # trailer fields
                        pos = trailer_end + 2
                        trailer_end = data.find(b"\r\n", pos)
                    pos = (trailer_end + 2) if trailer_end >= 0 else len(data)
                    break
                pos += size + 2
        elif length:
            pos += int(length.group(1))
        else:
            break  # the body runs until the connection closes
    return codes


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pieces = sys.argv[4:]
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        print("statuses=000 end=refused bytes=0 sent=partial")
        return 0
    sock.settimeout(None)
    received = bytearray()
    state = {"end": "error"}
    done = threading.Event()

    def reader():
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    state["end"] = "eof"
                    break
                received.extend(data)
        except ConnectionResetError:
            state["end"] = "reset"
        except OSError:
            pass  # the socket was closed at the deadline
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sent = "all"
    for piece in pieces:
        if piece.startswith("+"):
            time.sleep(float(piece[1:]))
            continue
        data = codecs.escape_decode(piece.encode("latin-1"))[0]
        try:
            sock.sendall(data)
        except OSError:
            sent = "partial"
            break
    end = state["end"] if done.wait(wait) else "timeout"
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    t.join(1)
    data = bytes(received)
    dump = os.environ.get("RAWHTTP_DUMP")
    if dump:
        with open(dump, "wb") as f:
            f.write(data)
    codes = statuses(data)
    print(
        "statuses=%s end=%s bytes=%d sent=%s"
        % (",".join(codes) or "000", end, len(data), sent)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
