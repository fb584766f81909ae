#!/usr/bin/env python3
"""Many HTTP downloads of random sizes through Splicer, each checked by sha256.

Every server of the e2e test bed serves /files/20m, the same 20 MiB on every server and
run. A transfer of N bytes asks for its first N bytes (`Range: bytes=0-(N-1)`, answered
206; the whole file without a Range, answered 200) and hashes the body as it arrives;
the expected digest is that of the first N bytes of the local copy (--file). Sizes are
drawn log-uniformly from 1 byte to --max-size (most transfers small, some large), plus
--large transfers of --large-size bytes each (default the whole file), shuffled in, from
a seeded generator: the same --seed gives the same sizes and order.

--clients threads run at once; each opens a connection, makes 1 to --keepalive requests
on it (keep-alive), closes it and opens the next. A transfer fails when the connection
fails, the status or Content-Length is not the expected one, the body is short, or its
sha256 differs. Prints progress to stderr and, at the end, one line of key=value pairs:

    transfers=N ok=N failed=N not_run=N bytes=N seconds=S

followed by up to 20 lines `failed: ...`. Exit code 0 when every transfer ran and passed.
"""

import argparse
import hashlib
import http.client
import math
import random
import sys
import threading
import time

SIZE_SUFFIX = {"k": 1024, "m": 1024 * 1024}


def size_arg(s):
    s = s.strip().lower()
    if s and s[-1] in SIZE_SUFFIX:
        return int(s[:-1]) * SIZE_SUFFIX[s[-1]]
    return int(s)


def plan(args, full_size):
    rng = random.Random(args.seed)
    top = min(args.max_size, full_size)
    sizes = [
        max(1, min(top, int(math.exp(rng.uniform(0.0, math.log(top))))))
        for _ in range(args.transfers - args.large)
    ]
    sizes += [min(args.large_size or full_size, full_size)] * args.large
    rng.shuffle(sizes)
    return sizes


class Run:
    def __init__(self, sizes):
        self.sizes = sizes
        self.next = 0
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []
        self.bytes = 0
        self.done = 0

    def take(self):
        with self.lock:
            if self.next >= len(self.sizes):
                return None
            i = self.next
            self.next += 1
            return i

    def record(self, i, size, got, error):
        with self.lock:
            self.done += 1
            self.bytes += got
            if error is None:
                self.ok += 1
            else:
                self.failed.append(f"transfer {i} ({size} bytes): {error}")


def transfer(conn, path, size, full_size, expected):
    """One request on `conn`; returns (bytes received, error or None, reusable)."""
    headers = {"Host": "splicer-soak"}
    if size != full_size:
        headers["Range"] = f"bytes=0-{size - 1}"
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    want_status = 200 if size == full_size else 206
    h = hashlib.sha256()
    got = 0
    start = last = time.monotonic()
    while True:
        try:
            chunk = resp.read(262144)
        except (OSError, http.client.HTTPException) as e:
            # How far it got and how long it had been stalled tell a peer's timeout
            # (a stall) from a reset out of the blue.
            now = time.monotonic()
            return got, (f"{type(e).__name__}: {e} after {got} bytes, {now - start:.1f}s, "
                         f"{now - last:.1f}s after the last byte"), False
        if not chunk:
            break
        got += len(chunk)
        last = time.monotonic()
        h.update(chunk)
    if resp.status != want_status:
        return got, f"status {resp.status}, want {want_status}", False
    length = resp.getheader("Content-Length")
    if length is None or int(length) != size:
        return got, f"Content-Length {length}, want {size}", False
    if got != size:
        return got, f"short body: {got} of {size} bytes", False
    if h.hexdigest() != expected:
        return got, f"sha256 {h.hexdigest()} differs from {expected}", False
    return got, None, not resp.will_close


def client(run, args, data, deadline, rng_seed):
    rng = random.Random(rng_seed)
    full_size = len(data)
    digests = {}
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
        try:
            for _ in range(rng.randint(1, args.keepalive)):
                if time.monotonic() >= deadline:
                    return
                i = run.take()
                if i is None:
                    return
                size = run.sizes[i]
                expected = digests.get(size)
                if expected is None:
                    expected = hashlib.sha256(data[:size]).hexdigest()
                    if len(digests) < 4096:
                        digests[size] = expected
                try:
                    got, error, reusable = transfer(conn, args.path, size, full_size, expected)
                except (OSError, http.client.HTTPException) as e:
                    got, error, reusable = 0, f"{type(e).__name__}: {e}", False
                run.record(i, size, got, error)
                if not reusable:
                    break
        finally:
            conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="198.18.0.100")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--path", default="/files/20m")
    ap.add_argument("--file", required=True, help="local copy of the served file")
    ap.add_argument("--transfers", type=int, default=10000)
    ap.add_argument("--large", type=int, default=0, help="transfers of --large-size bytes")
    ap.add_argument("--large-size", type=size_arg, default=0, help="default: the whole file")
    ap.add_argument("--max-size", type=size_arg, default=20 * 1024 * 1024)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--keepalive", type=int, default=4, help="most requests per connection")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per socket operation")
    ap.add_argument("--deadline", type=float, default=3600.0, help="seconds for the whole run")
    ap.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        data = memoryview(f.read())
    if args.large > args.transfers:
        ap.error("--large is more than --transfers")
    run = Run(plan(args, len(data)))
    start = time.monotonic()
    deadline = start + args.deadline
    threads = [
        threading.Thread(target=client, args=(run, args, data, deadline, args.seed * 1000 + c), daemon=True)
        for c in range(args.clients)
    ]
    for t in threads:
        t.start()
    last = start
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if now - last >= args.progress:
            last = now
            print(
                f"# {now - start:.0f}s: {run.done}/{len(run.sizes)} done, {len(run.failed)} failed, "
                f"{run.bytes / 1e6:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
        if now > deadline + args.timeout + 5:
            break
    seconds = time.monotonic() - start
    not_run = len(run.sizes) - run.done
    print(
        f"transfers={len(run.sizes)} ok={run.ok} failed={len(run.failed)} not_run={not_run} "
        f"bytes={run.bytes} seconds={seconds:.1f}",
        flush=True,
    )
    for line in run.failed[:20]:
        print(f"failed: {line}")
    sys.exit(0 if run.ok == len(run.sizes) else 1)


if __name__ == "__main__":
    main()
