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

rawhttp.py --batch HOST PORT FILE : one vector per line of FILE, "NAME|WANT|PIECE|PIECE..."
(WANT: the statuses expected, e.g. "400" or "201,200"; PIECEs as above). For each line it
opens a connection and sends the PIECEs, reads until it has as many complete responses as
WANT names (and, when the last came from Splicer itself, that is without the test servers'
X-Server header, until Splicer closes), the peer closes or resets, or 3 s have passed; then
it sends "GET /after/NAME HTTP/1.1" with "Host: www" on a new connection and reads its
response (3 s at most). Prints one line per vector:
  NAME statuses=400 from=splicer|sN|none end=eof|reset|timeout|done after=200
(end=done: the wanted responses came and the client closed; after: the status of the
request on the new connection, 000 when none).
"""

import codecs
import os
import re
import socket
import sys
import threading
import time


def frames(data, head_first=False):
    """The responses at the start of data, in order: (status, X-Server value or None,
    complete), framed by their heads (Content-Length, chunked, no body for 1xx/204/304;
    anything else runs until the close, so never complete). The walk stops after the
    first response that is not complete. head_first: the first final response answers a
    HEAD (no body, whatever its head says)."""
    pos = 0
    final_seen = False
    while pos < len(data):
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n", data[pos:])
        end = data.find(b"\r\n\r\n", pos)
        if not m or end < 0:
            return
        code = int(m.group(1))
        head = data[pos:end].decode("latin-1").lower()
        server = re.search(r"\r\nx-server:[ \t]*([^\r]*)", head)
        server = server.group(1).strip() if server else None
        body = end + 4
        if code < 200 or code in (204, 304) or (head_first and not final_seen):
            nxt = body
        elif re.search(r"\r\ntransfer-encoding:[^\r]*chunked", head):
            nxt = chunked_end(data, body)
        else:
            length = re.search(r"\r\ncontent-length:[ \t]*(\d+)", head)
            nxt = body + int(length.group(1)) if length else None
        final_seen |= code >= 200
        complete = nxt is not None and nxt <= len(data)
        yield code, server, complete
        if not complete:
            return
        pos = nxt


def statuses(data):
    """The status codes of the responses in data (100s included), the last one even if
    its body has not fully arrived. A request sent with HEAD would confuse it: the tests
    do not send HEAD with this client."""
    return ["%03d" % code for code, _, _ in frames(data)]


def chunked_end(data, pos):
    """Where the chunked body starting at data[pos] ends, or None if it has not yet."""
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(data[pos:line_end].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return None
        pos = line_end + 2
        if size == 0:
            while True:  # trailer fields, then the empty line
                line_end = data.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                if line_end == pos:
                    return pos + 2
                pos = line_end + 2
        pos += size + 2
        if pos > len(data):
            return None


def responses(data, head_first=False):
    """The complete final responses at the start of data: a list of (status, X-Server
    value or None), framed as frames() frames them; a response whose body has not fully
    arrived (or runs until the close) is not counted. head_first: the first answers a
    HEAD (no body, whatever its head says)."""
    return [
        ("%03d" % code, server)
        for code, server, complete in frames(data, head_first)
        if complete and code >= 200
    ]


def exchange(host, port, pieces, want, wait=3.0):
    """One connection: sends pieces, reads as the --batch mode describes. Returns
    (responses, end)."""
    try:
        sock = socket.create_connection((host, port), timeout=wait)
    except OSError:
        return [], "refused"
    deadline = time.monotonic() + wait
    data = bytearray()
    end = "timeout"
    sent_all = True
    for piece in pieces:
        if piece.startswith("+"):
            time.sleep(float(piece[1:]))
            continue
        try:
            sock.sendall(codecs.escape_decode(piece.encode("latin-1"))[0])
        except OSError:
            sent_all = False
            break
    head_first = bool(pieces) and pieces[0].startswith("HEAD ")
    while True:
        got = responses(bytes(data), head_first)
        if len(got) >= want and got and got[-1][1] is not None:
            end = "done"
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            end = "reset"
            break
        except socket.timeout:
            break
        except OSError:
            end = "error"
            break
        if not chunk:
            end = "eof"
            break
        data.extend(chunk)
    sock.close()
    if not sent_all and end == "timeout":
        end = "error"
    return responses(bytes(data), head_first), end


def batch(host, port, path):
    with open(path, encoding="latin-1") as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    for line in lines:
        fields = line.split("|")
        name, want, pieces = fields[0], fields[1], fields[2:]
        got, end = exchange(host, port, pieces, len(want.split(",")))
        after, _ = exchange(
            host, port, ["GET /after/%s HTTP/1.1\\r\\nHost: www\\r\\n\\r\\n" % name], 1
        )
        print(
            "%s statuses=%s from=%s end=%s after=%s"
            % (
                name,
                ",".join(c for c, _ in got) or "000",
                (got[-1][1] or "splicer") if got else "none",
                end,
                after[0][0] if after else "000",
            ),
            flush=True,
        )
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--batch":
        return batch(sys.argv[2], int(sys.argv[3]), sys.argv[4])
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
