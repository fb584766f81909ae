#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from the repository root:
python3 fuzz/seeds.py). Seeds are real inputs: request heads and responses as browsers,
curl and nginx send them plus the smuggling vectors of RFC 9112, the repository's
configurations, control commands from the tests and the help examples, and frames as
Linux sends them. The fuzzers grow their own corpus from these."""

import glob
import hashlib
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- HTTP requests -------------------------------------------------------------------
REQUESTS = [
    "GET / HTTP/1.1\r\nHost: www.example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "GET /img/logo.jpg?v=3 HTTP/1.1\r\nHost: shop.example:8080\r\nAccept: image/avif,image/webp,*/*\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nX-Tier: gold\r\n\r\n",
    "POST /api/users HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"name\":\"a\"}\n",
    "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET /old HTTP/1.0\r\nHost: www.example\r\n\r\n",
    "GET /ka HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    "HEAD /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
    "GET http://www.example/abs?q=1 HTTP/1.1\r\nHost: www.example\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "CONNECT www.example:443 HTTP/1.1\r\nHost: www.example:443\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n",
    # Smuggling vectors (RFC 9112 section 6.3 and the CL.TE / TE.CL / TE.TE families).
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 05\r\n\r\nhello",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\nHost: h\n\n",
    "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
]
for r in REQUESTS:
    for sel in (0, 4):
        put("request_head", bytes([sel]) + r.encode("latin-1"))

# --- HTTP responses ------------------------------------------------------------------
RESPONSES = [
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
    "HTTP/1.1 405 Not Allowed\r\nServer: nginx\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\nabcdefghij\n0\n\n",
]
for r in RESPONSES:
    for flags, cuts in ((0, [255] * 8), (0, [0, 3, 10, 1, 50, 7, 0, 99]), (1, [16] * 8)):
        put("response_framer", bytes([flags] + cuts) + r.encode("latin-1"))

# --- Chunked bodies ------------------------------------------------------------------
BODIES = [
    "5\r\nhello\r\n0\r\n\r\n",
    "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
    "1a;name=\"value\";x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n",
    "0\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
    "5 ;ext\nhello\n0\n\n",
    "ffffffffffffffffff\r\n",
    "0000000000000001\r\nx\r\n0\r\n\r\n",
    "5\r\nhelloXX0\r\n\r\n",
    "-1\r\n",
    "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
]
for b in BODIES:
    for n, cuts in ((5, [255] * 8), (200, [0, 1, 2, 3, 4, 5, 6, 7])):
        put("chunked_body", bytes([n] + cuts) + b.encode())

# --- Configurations ------------------------------------------------------------------
put("config_load", open(os.path.join(ROOT, "configs", "demo.toml")).read())
tests = open(os.path.join(ROOT, "controlplane", "config", "src", "tests.rs")).read()
consts = dict(re.findall(r'const ([A-Z]+): &str = r#"(.*?)"#', tests, re.S))
for name, text in consts.items():
    put("config_load", text)
    if name != "PORTS" and "PORTS" in consts and "[[port]]" not in text:
        put("config_load", consts["PORTS"] + text)
for text in re.findall(r'r#"(.*?)"#', tests, re.S):
    if "[[" in text or "[dataplane]" in text:
        put("config_load", text)

# --- Control commands ----------------------------------------------------------------
# The grammar's source: command.rs, or the files of a command/ module.
cli_src = os.path.join(ROOT, "controlplane", "cli", "src")
cli = "".join(
    open(p).read()
    for p in sorted(glob.glob(os.path.join(cli_src, "command.rs"))
                    + glob.glob(os.path.join(cli_src, "command", "*.rs")))
)
commands = set(re.findall(r'(?:parse|edit)\("([^"\\]*)"\)', cli))
commands |= set(re.findall(r'example: "([^"\\]*)"', cli))
commands |= {
    "out-of-service real s1 maintenance", "in-service real s1", "weight s1 0",
    "no real s1", "backup s1 s3", "no bind www s3", "out-of-service virtual www sticky",
    "show flows limit 5", "log level debug", "clear stats", "save", "?", "show ?",
    '{"ok":true,"text":"hi","data":null}',
}
commands = sorted(commands)
# A few sessions of edits, one per line.
SESSIONS = [
    "real s4 198.19.0.14:80 weight 2\nbind www s4\nrule add www api path_prefix /api/ bind s4\nno bind www s1\nshow config\n",
    "url moved http://%h:8080/new/%d 301\nvirtual red 198.18.0.101:80 mode redirect\nbind red moved\nlink moved www\nbackup www moved\n",
    "dip 198.19.0.11 port outside\nout-of-service real s1 failed\nbackup s1 s2\nin-service real s1\nno dip 198.19.0.11\n",
]
# The grammar's target and the edits' target start from the same lines.
for target in ("control_command", "control_edit"):
    for c in commands + SESSIONS:
        put(target, c)

# --- TCP options ---------------------------------------------------------------------
OPTS = [
    "0204ffd70402080ae8264a0d000000000103030a",  # Linux SYN
    "020405b40402080a000000010000000001030307",
    "0101080a0001e2400001e240",                    # timestamps on a data segment
    "0101050a0000000100000010",                    # one SACK block
    "0101051a000000010000001000000020000000300000004000000050",
    "020405b4010303080000",                        # EOL then padding
    "fe0a0000000000000000",                        # experimental option
    "020405b4fe",                                  # truncated length
    "0201",                                        # length below 2
]
for o in OPTS:
    put("tcp_options", bytes.fromhex(o))
    put("tcp_options", bytes([0x0f, 5, 0xb4, 0, 0, 0, 1, 0, 0, 0, 2, 7]) + bytes.fromhex(o))

# --- Frames --------------------------------------------------------------------------
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(src, dst, sport, dport, seq, ack, flags, opts=b"", payload=b"", win=64240):
    hl = 20 + len(opts)
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hl // 4) << 4, flags, win, 0, 0) + opts + payload
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(t))
    c = csum(pseudo + t)
    return t[:16] + struct.pack("!H", c) + t[18:]


def eth(dst, src, etype, payload):
    return bytes(dst) + bytes(src) + struct.pack("!H", etype) + payload


OURS = [2, 0x73, 0x70, 0x6c, 0, 1]
PEER = [2, 0, 0, 0, 0, 2]
C = [198, 18, 0, 2]
V = [198, 18, 0, 100]
syn_opts = bytes.fromhex("020405b40402080a000000010000000001030307")
frames = [
    eth(OURS, PEER, 0x0800, ip4(C, V, 6, tcp(C, V, 40000, 80, 1000, 0, 0x02, syn_opts))),
    eth(OURS, PEER, 0x0800, ip4(C, V, 6, tcp(C, V, 40000, 80, 1001, 5000, 0x18, b"", REQUESTS[0].encode()))),
    eth(OURS, PEER, 0x0800, ip4(C, V, 6, tcp(C, V, 40000, 80, 1001, 5000, 0x11))),
    eth(OURS, PEER, 0x0800, ip4(C, V, 1, bytes.fromhex("0800") + b"\0\0" + bytes.fromhex("00070001") + b"payload")),
    eth([0xff] * 6, PEER, 0x0806, bytes.fromhex("000108000604000102000000000298120002000000000000c6120001")),
    eth(OURS, PEER, 0x0800, ip4(C, V, 17, struct.pack("!HHHH", 5353, 53, 12, 0) + b"abcd")),
]
for f in frames:
    put("wire_views", f)
    put("wire_views", f[14:])
    put("wire_views", f[34:])

# --- Pipeline scenarios --------------------------------------------------------------
# Encoded the way the `arbitrary` crate (1.x) decodes fuzz/fuzz_targets/pipeline.rs's
# `Input`: bools and u8 one byte, u16/u32 little-endian, an enum variant a u32 scaled
# onto the variant count, each element of the action list after a "keep going" byte.
ACTIONS = ["Connect", "ClientAck", "ClientWrite", "ClientPush", "ClientRst", "ClientSend",
           "ServerAccept", "ServerWrite", "ServerPush", "ServerRst", "ServerSend",
           "Advance", "Replay", "Raw", "Ping", "SetReal"]
CONTENTS = ["Request", "Response", "Body", "Raw"]


def variant(names, name):
    i, n = names.index(name), len(names)
    return struct.pack("<I", (i * 2**32 + n - 1) // n)


NOMUT = bytes(7)  # Mutation { kind: 0, a: 0, b: 0 }: unchanged


def content(kind, n):
    return variant(CONTENTS, kind) + (struct.pack("<H", n) if kind == "Body" else bytes([n]))


def act(name, *fields):
    return b"\x01" + variant(ACTIONS, name) + b"".join(fields)


def u8(x):
    return bytes([x])


def u16(x):
    return struct.pack("<H", x)


def mut(kind, a=0, b=0):
    return bytes([kind]) + struct.pack("<IH", a, b)


def scenario(*actions, auto_clients=True, auto_servers=True):
    return bytes([auto_clients, auto_servers]) + b"".join(actions)


def get(req=0, resp=0, client=0, service=0, opts=0x0f):
    return [
        act("Connect", u8(client), u8(service), u8(opts), NOMUT),
        act("ClientSend", u8(0), content("Request", req), NOMUT),
        act("ServerSend", u8(0), content("Response", resp), NOMUT),
        act("Advance", u16(5), u8(0)),
    ]


SCENARIOS = [
    scenario(*get()),
    scenario(*get(1, 1, client=1, opts=0x0b), *get(0, 2, client=2, opts=0)),
    # Keep-alive: two requests on one client connection, then FIN both ways.
    scenario(*get(), act("ClientSend", u8(0), content("Request", 1), NOMUT),
             act("ServerSend", u8(0), content("Response", 3), NOMUT),
             act("ClientPush", u8(0), u16(0), u8(1), NOMUT), act("Advance", u16(2000), u8(1))),
    # A POST whose body trickles in while the server answers early.
    scenario(act("Connect", u8(0), u8(0), u8(0x0f), NOMUT),
             act("ClientSend", u8(0), content("Request", 2), NOMUT),
             act("ServerSend", u8(0), content("Response", 6), NOMUT),
             act("ClientWrite", u8(0), content("Body", 10)),
             act("ClientPush", u8(0), u16(3), u8(0), NOMUT),
             act("ClientPush", u8(0), u16(100), u8(0), NOMUT),
             act("Advance", u16(100), u8(0))),
    # Chunked request, chunked response.
    scenario(act("Connect", u8(4), u8(0), u8(0x07), NOMUT),
             act("ClientSend", u8(0), content("Request", 3), NOMUT),
             act("ClientSend", u8(0), content("Request", 4), NOMUT),
             act("ServerSend", u8(0), content("Response", 1), NOMUT)),
    # HTTP/1.0 without keep-alive; redirect virtual; ping.
    scenario(*get(5, 5), act("ServerPush", u8(0), u16(0), u8(1), NOMUT),
             *get(0, 0, client=3, service=1), act("Ping", u8(0), u8(0), u8(16))),
    # Client RST mid-response, then the server finishes (drain).
    scenario(*get(0, 9)[:3], act("ClientRst", u8(0), NOMUT),
             act("ServerWrite", u8(0), content("Body", 1000)),
             act("ServerPush", u8(0), u16(1399), u8(0), NOMUT), act("Advance", u16(60), u8(1))),
    # Servers that do not answer by themselves; a real fails, comes back.
    scenario(act("Advance", u16(1), u8(0)), act("ServerAccept", u8(0), u8(0x0f), NOMUT),
             act("ServerAccept", u8(1), u8(0x00), NOMUT), *get(),
             act("SetReal", u8(0), u8(4)), act("SetReal", u8(0), u8(0)),
             act("Advance", u16(1000), u8(0)), auto_servers=False),
    # Mutations: a SYN with bad flags, a replay with a sequence offset, a truncation.
    scenario(act("Connect", u8(0), u8(0), u8(0x0f), mut(200, 0xff)), *get(),
             act("Replay", u8(1), u8(1), mut(201, 0x10000, 3)),
             act("Replay", u8(0), u8(1), mut(204, 0, 40)),
             act("Replay", u8(2), u8(0), mut(202, 1)), act("Advance", u16(400), u8(1))),
    # SYN flood past the half-open bound, then timeouts.
    scenario(*[act("Connect", u8(i), u8(0), u8(0), NOMUT) for i in range(10)],
             act("Advance", u16(50), u8(1)), auto_clients=False),
]
for s in SCENARIOS:
    put("pipeline", s)
