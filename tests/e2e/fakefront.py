#!/usr/bin/env python3
"""A stand-in for Splicer's side of a TCP handoff, to test `splicer agent` on its own.

It plays the front end of the handoff protocol (splicer_wire::handoff, docs/HANDOFF.md)
with raw sockets, in a namespace with an outside interface (where the router sends the
VIP's traffic) and an inside interface (on the back ends' LAN):

* answers each client SYN to the VIP itself (SYN-ACK with MSS, window scale 7, SACK and
  timestamps as the client offers them), acknowledges the request head;
* sends a HANDOFF (round robin over the --agent addresses) over UDP from --bind, resends it
  every 100 ms for up to 1 s;
* on HANDOFF_ACK ok, forwards every later client frame of that connection to the back end
  by rewriting only the Ethernet addresses (the back end's MAC from the kernel's ARP
  cache); on a refusal or a timeout, resets the client;
* acknowledges CLOSED and forgets the connection.

Every second it prints `front stats key=value ...`: handoffs started/ok/refused/timeout,
frames and bytes forwarded to back ends, bytes it sent towards clients (its own SYN-ACKs
and ACKs: the response bytes never pass here). Only what the e2e bed needs: one request
head per connection in at most a few segments, IPv4 only.
"""

import argparse
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MAGIC = b"SPHO"
T_HEARTBEAT, T_HEARTBEAT_ACK, T_HANDOFF, T_HANDOFF_ACK, T_CLOSED, T_CLOSED_ACK = 1, 2, 3, 4, 5, 6
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
OUR_WSCALE = 7
OUR_MSS = 1460


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac_of(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def arp_mac(ip):
    with open("/proc/net/arp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[0] == ip and p[3] != "00:00:00:00:00:00":
                return bytes.fromhex(p[3].replace(":", ""))
    return None


def parse_opts(b):
    o = {}
    i = 0
    while i < len(b):
        k = b[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(b):
            break
        n = b[i + 1]
        if n < 2:
            break
        v = b[i + 2 : i + n]
        if k == 2 and n == 4:
            o["mss"] = struct.unpack("!H", v)[0]
        elif k == 3 and n == 3:
            o["ws"] = v[0]
        elif k == 4:
            o["sack"] = True
        elif k == 8 and n == 10:
            o["ts"] = struct.unpack("!II", v)
        i += n
    return o


def tcp_frame(src_mac, dst_mac, src, sport, dst, dport, seq, ack, flags, window, opts=b"", payload=b""):
    while len(opts) % 4:
        opts += b"\x01"
    thl = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (thl // 4) << 4, flags, window, 0, 0) + opts + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


class Conn:
    def __init__(self, client, port, isn, opts, window, peer_mac):
        self.client, self.port = client, port
        self.client_isn = isn
        self.opts = opts
        self.window = window
        self.peer_mac = peer_mac
        self.isn = random.getrandbits(32)
        self.request = b""
        self.state = "reading"
        self.tsval = opts.get("ts", (0, 0))[0]
        self.agent = None
        self.id = None
        self.sent_at = 0
        self.first_sent = 0
        self.backend_mac = None


class Front:
    def __init__(self, a):
        self.a = a
        self.vip, vport = a.vip.split(":")
        self.vport = int(vport)
        bip, bport = a.bind.split(":")
        self.bind = (bip, int(bport))
        self.agents = [(x.split(":")[0], int(x.split(":")[1])) for x in a.agent]
        self.rr = 0
        self.out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.out.bind((a.outside, 0))
        # Send only: protocol 0 receives nothing.
        self.inside = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.inside.bind((a.inside, 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(self.bind)
        self.out_mac = mac_of(a.outside)
        self.in_mac = mac_of(a.inside)
        self.conns = {}
        self.by_id = {}
        self.next_id = 1
        self.epoch = random.getrandbits(64)
        self.t0 = time.monotonic()
        # Heartbeats as Splicer sends them (every agent_heartbeat, 1 s by default): an
        # agent resets the connections of a front end silent for its splicer_dead_time.
        self.next_beat = 0.0
        self.stats = dict.fromkeys(
            "handoffs_started handoffs_ok handoffs_refused handoffs_timeout handoffs_other "
            "forwarded_frames forwarded_bytes to_client_frames to_client_bytes closed "
            "agent_epochs_seen".split(),
            0,
        )

    def ts_now(self):
        return int((time.monotonic() - self.t0) * 1000 + 1000) & 0xFFFFFFFF

    def send_out(self, frame):
        self.out.send(frame)
        self.stats["to_client_frames"] += 1
        self.stats["to_client_bytes"] += len(frame)

    def to_client(self, c, seq, ack, flags, opts=b""):
        if "ts" in c.opts:
            opts = b"\x01\x01\x08\x0a" + struct.pack("!II", self.ts_now(), c.tsval) + opts
        window = 65535 >> OUR_WSCALE if "ws" in c.opts else 65535
        self.send_out(tcp_frame(self.out_mac, c.peer_mac, self.vip, self.vport, c.client, c.port, seq, ack, flags, window, opts))

    def on_outside(self, f):
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != 6:
            return
        ihl = (f[14] & 15) * 4
        src, dst = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
        t = 14 + ihl
        sport, dport, seq, ack, off, flags, window = struct.unpack("!HHIIBBH", f[t : t + 16])
        if dst != self.vip or dport != self.vport:
            return
        thl = (off >> 4) * 4
        total = struct.unpack("!H", f[16:18])[0]
        payload = f[t + thl : 14 + total]
        opts = parse_opts(f[t + 20 : t + thl])
        key = (src, sport)
        c = self.conns.get(key)
        if flags & SYN:
            if c is None or c.client_isn != seq:
                c = Conn(src, sport, seq, opts, window, f[6:12])
                self.conns[key] = c
            o = struct.pack("!BBH", 2, 4, OUR_MSS)
            if opts.get("sack"):
                o += b"\x01\x01\x04\x02"
            if "ws" in opts:
                o += b"\x01\x03\x03" + bytes([OUR_WSCALE])
            self.to_client(c, c.isn, seq + 1, SYN | ACK, o)
            return
        if c is None:
            return
        if "ts" in opts:
            c.tsval = opts["ts"][0]
        c.window = window
        if c.state == "forwarding":
            g = bytearray(f)
            g[0:6] = c.backend_mac
            g[6:12] = self.in_mac
            self.inside.send(bytes(g))
            self.stats["forwarded_frames"] += 1
            self.stats["forwarded_bytes"] += len(f)
            return
        if flags & RST:
            self.conns.pop(key, None)
            return
        if c.state != "reading" or not payload:
            return
        expected = c.client_isn + 1 + len(c.request)
        if seq & 0xFFFFFFFF == expected & 0xFFFFFFFF:
            c.request += payload
        self.to_client(c, c.isn + 1, c.client_isn + 1 + len(c.request), ACK)
        if b"\r\n\r\n" in c.request:
            c.agent = self.agents[self.rr % len(self.agents)]
            self.rr += 1
            c.id = self.next_id
            self.next_id += 1
            self.by_id[c.id] = key
            c.state = "handing off"
            c.first_sent = time.monotonic()
            self.stats["handoffs_started"] += 1
            self.send_handoff(c)

    def send_handoff(self, c):
        o = c.opts
        body = socket.inet_aton(c.client) + struct.pack("!H", c.port) + socket.inet_aton(self.vip) + struct.pack("!H", self.vport)
        body += struct.pack(
            "!IIHBBBBIIHQH",
            c.client_isn,
            c.isn,
            o.get("mss", 536),
            o.get("ws", 0xFF),
            OUR_WSCALE if "ws" in o else 0xFF,
            1 if o.get("sack") else 0,
            1 if "ts" in o else 0,
            c.tsval,
            self.ts_now(),
            c.window,
            self.epoch,
            len(c.request),
        )
        msg = MAGIC + struct.pack("!BBHI", 1, T_HANDOFF, 0, c.id) + body + c.request
        self.udp.sendto(msg, c.agent)
        c.sent_at = time.monotonic()

    def on_udp(self, data, addr):
        if len(data) < 12 or data[:4] != MAGIC or data[4] != 1:
            return
        typ, mid = data[5], struct.unpack("!I", data[8:12])[0]
        b = data[12:]
        if typ == T_HANDOFF_ACK and len(b) == 13:
            key = self.by_id.pop(mid, None)
            c = self.conns.get(key) if key else None
            if c is None or c.state != "handing off":
                return
            result = b[0]
            if result == 0:
                c.backend_mac = arp_mac(c.agent[0])
                if c.backend_mac is None:
                    print("no ARP entry for %s" % c.agent[0], flush=True)
                    return
                c.state = "forwarding"
                self.stats["handoffs_ok"] += 1
            else:
                self.stats["handoffs_refused" if result == 1 else "handoffs_other"] += 1
                self.reset(c)
        elif typ == T_CLOSED and len(b) == 13:
            client, port = socket.inet_ntoa(b[0:4]), struct.unpack("!H", b[4:6])[0]
            self.udp.sendto(MAGIC + struct.pack("!BBHI", 1, T_CLOSED_ACK, 0, mid), addr)
            if self.conns.pop((client, port), None) is not None:
                self.stats["closed"] += 1

    def reset(self, c):
        self.to_client(c, c.isn + 1, c.client_isn + 1 + len(c.request), RST | ACK)
        self.conns.pop((c.client, c.port), None)

    def timers(self):
        now = time.monotonic()
        if now >= self.next_beat:
            self.next_beat = now + 1.0
            for agent in self.agents:
                self.next_id += 1
                hdr = MAGIC + struct.pack("!BBHI", 1, T_HEARTBEAT, 0, self.next_id)
                self.udp.sendto(hdr + struct.pack("!Q", self.epoch), agent)
        for c in list(self.conns.values()):
            if c.state != "handing off":
                continue
            if now - c.first_sent >= 1.0:
                self.stats["handoffs_timeout"] += 1
                self.by_id.pop(c.id, None)
                self.reset(c)
            elif now - c.sent_at >= 0.1:
                self.send_handoff(c)

    def run(self):
        print("front ready", flush=True)
        next_stats = time.monotonic() + 1
        while True:
            r, _, _ = select.select([self.out, self.udp], [], [], 0.05)
            if self.out in r:
                f, addr = self.out.recvfrom(65535)
                if addr[2] != socket.PACKET_OUTGOING:
                    self.on_outside(f)
            if self.udp in r:
                self.on_udp(*self.udp.recvfrom(65535))
            self.timers()
            if time.monotonic() >= next_stats:
                next_stats += 1
                print("front stats " + " ".join("%s=%d" % kv for kv in self.stats.items()), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--outside", required=True)
    p.add_argument("--inside", required=True)
    p.add_argument("--vip", required=True)
    p.add_argument("--bind", required=True)
    p.add_argument("--agent", action="append", required=True)
    Front(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
