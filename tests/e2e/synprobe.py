#!/usr/bin/env python3
"""synprobe.py SRC DST DPORT SPORT COUNT [GAP_MS] : the e2e tests' SYN prober (t_isn.sh).

Sends one bare SYN from SRC:p to DST:DPORT for each source port p in SPORT..SPORT+COUNT-1
(a raw socket: the kernel has no socket for these ports, so it answers each SYN-ACK with a
RST, which also frees the half-open connection on the other side), GAP_MS milliseconds
apart (default 1), and collects the SYN-ACKs. Ports that got no SYN-ACK are tried again,
up to three rounds. Prints one line per answered port, in port order: "PORT ISN" (the
SYN-ACK's sequence number, decimal). Exit code 0 when every port was answered, 1 if not.

analyse: synprobe.py --analyse FILE : reads "PORT ISN" lines and checks that consecutive
ISNs have no linear relation: the steps between them are (nearly) all distinct, and no
x[n+1] = m * x[n] + c (mod 2^32) fitted on them explains the sequence (the fit is checked
on a linear congruential sequence first, so the check can fail). Prints what it found;
exit code 0 when there is no relation.

spread: synprobe.py --spread FILE_A FILE_B : for the ports in both files, the differences
ISN_B - ISN_A (mod 2^32) and their spread (largest minus smallest, centred). With one
secret the differences are one clock advance, equal to within the probe's duration; with
another secret they are random. Prints "spread=N".
"""

import os
import random
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    csum = checksum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:]


def probe(src, dst, dport, sport, count, gap):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    ports = set(range(sport, sport + count))
    isns = {}

    def drain(deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([s], [], [], left)
            if not r:
                return
            pkt = s.recv(4096)
            ihl = (pkt[0] & 0xF) * 4
            if socket.inet_ntoa(pkt[12:16]) != dst or len(pkt) < ihl + 20:
                continue
            sp, dp, seq, _ack, _off, flags = struct.unpack("!HHIIBB", pkt[ihl : ihl + 14])
            if sp == dport and dp in ports and flags & 0x12 == 0x12 and dp not in isns:
                isns[dp] = seq

    for _round in range(3):
        todo = sorted(ports - isns.keys())
        if not todo:
            break
        for p in todo:
            s.sendto(syn(src, dst, p, dport, random.getrandbits(32)), (dst, 0))
            drain(time.monotonic() + gap)
        drain(time.monotonic() + 1.0)
    for p in sorted(isns):
        print(p, isns[p])
    return 0 if len(isns) == count else 1


def read(path):
    with open(path) as f:
        return {int(a): int(b) for a, b in (line.split() for line in f if line.strip())}


def inverse(a):
    x = a
    for _ in range(5):
        x = (x * (2 - a * x)) & 0xFFFFFFFF
    return x


def affine_fits(xs):
    """Whether x[n+1] = m x[n] + c (mod 2^32) holds for the whole sequence, with m solved
    from the first pair of consecutive differences whose first is odd (invertible)."""
    d = [(b - a) & 0xFFFFFFFF for a, b in zip(xs, xs[1:])]
    for i in range(len(d) - 1):
        if d[i] & 1:
            m = (d[i + 1] * inverse(d[i])) & 0xFFFFFFFF
            c = (xs[i + 1] - m * xs[i]) & 0xFFFFFFFF
            return all(b == (m * a + c) & 0xFFFFFFFF for a, b in zip(xs, xs[1:]))
    return False


def analyse(path):
    isns = read(path)
    xs = [isns[p] for p in sorted(isns)]
    steps = [(b - a) & 0xFFFFFFFF for a, b in zip(xs, xs[1:])]
    distinct = len(set(steps))
    lcg = [12345]
    for _ in range(999):
        lcg.append((lcg[-1] * 1103515245 + 12345) & 0xFFFFFFFF)
    control = affine_fits(lcg)
    fits = affine_fits(xs)
    print(f"isns={len(xs)} distinct_steps={distinct} affine_fit={fits} control_lcg_fit={control}")
    ok = len(xs) >= 2 and distinct >= 0.99 * len(steps) and not fits and control
    return 0 if ok else 1


def spread(path_a, path_b):
    a, b = read(path_a), read(path_b)
    common = sorted(a.keys() & b.keys())
    if len(common) < 2:
        print("spread=none")
        return 1
    # Centre the differences on the first one so that a wrap does not look like a spread.
    d0 = (b[common[0]] - a[common[0]]) & 0xFFFFFFFF
    rel = [(((b[p] - a[p]) - d0 + (1 << 31)) & 0xFFFFFFFF) - (1 << 31) for p in common]
    print(f"spread={max(rel) - min(rel)} ports={len(common)}")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--analyse":
        return analyse(argv[2])
    if len(argv) == 4 and argv[1] == "--spread":
        return spread(argv[2], argv[3])
    if len(argv) not in (6, 7):
        print(__doc__, file=sys.stderr)
        return 2
    gap = float(argv[6]) / 1000 if len(argv) == 7 else 0.001
    return probe(argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5]), gap)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
