#!/usr/bin/env bash
# t_client_leg — Splicer terminates client TCP connections to the VIP itself (kernel TCP
# client with default sysctls: SACK, timestamps, window scaling) and answers HTTP on its
# own while no server is bound to the virtual:
#  * a valid HTTP/1.1 and HTTP/1.0 request gets `503` (Server: Splicer) and an orderly
#    close; http_no_server and clients_closed move;
#  * a head larger than max_request_head gets `431` (refused_head_too_large);
#  * Content-Length together with Transfer-Encoding gets `400` (refused_smuggling); a
#    malformed request line `400` (refused_bad_request); an Upgrade `501`;
#  * a client that never finishes its head gets `408` after request_timeout
#    (request_timeouts) — the slowloris defence;
#  * a SYN to a port no virtual listens on is refused with RST (curl: connection refused;
#    drop_tcp_closed_port);
#  * 30 connections in a row all get their answer, and every established connection ends
#    (clients_closed + client_resets == tcp_established) leaving no flow state behind
#    (the `flows` and `half_open` gauges are back to 0).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix clientleg)
cfg=$TB_DIR/clientleg.toml
log=$TB_LOG_DIR/splicer-commandsentleg.log
tb_write_config "$cfg" "$prefix" 1 'request_timeout = "2s"' 'max_request_head = "4KiB"'
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

s=$(tb_http_status "http://$TB_VIP/")
tb_check_cmp "HTTP/1.1 request to the VIP gets 503 (no server bound)" "${s:-0}" -eq 503
s=$(tb_http_status --http1.0 "http://$TB_VIP/index.html")
tb_check_cmp "HTTP/1.0 request gets 503" "${s:-0}" -eq 503
tb_check "the 503 comes from Splicer" bash -c \
    "ip netns exec $TB_NS_CLIENT curl -sS -m 5 -D - -o /dev/null http://$TB_VIP/ | grep -qi '^server: splicer'"

big=$(head -c 6000 /dev/zero | tr '\0' a)
s=$(tb_http_status -H "X-Big: $big" "http://$TB_VIP/")
tb_check_cmp "a 6000-byte header over max_request_head (4KiB) gets 431 (curl)" "${s:-0}" -eq 431

tb_check_refusal "$log" "Content-Length with Transfer-Encoding" 400 refused_smuggling \
    'POST / HTTP/1.1\r\nHost: www\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
tb_check_refusal "$log" "a malformed request line" 400 refused_bad_request 'BLAH\r\n\r\n'
tb_check_refusal "$log" "an Upgrade request" 501 refused_not_implemented \
    'GET /chat HTTP/1.1\r\nHost: www\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'

start=$(date +%s%N)
s=$(tb_raw_status "$TB_VIP" 80 6 'GET / HTTP/1.1\r\nHost: www\r\n')
took=$((($(date +%s%N) - start) / 1000000))
tb_check_cmp "an unfinished head gets 408" "${s:-0}" -eq 408
tb_check_cmp "... after request_timeout (2 s; took $took ms)" "$took" -ge 1900

rc=0
tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null "http://$TB_VIP:81/" 2>/dev/null || rc=$?
tb_check_cmp "a port no virtual listens on refuses the connection (curl exit 7)" "$rc" -eq 7

ok=0
for _ in $(seq 1 30); do
    [[ $(tb_http_status "http://$TB_VIP/") == 503 ]] && ok=$((ok + 1))
done
tb_check_cmp "30 connections in a row all get 503" "$ok" -eq 30

sleep 1.5
tb_wait_stats_line "$log" 5
tb_check_cmp "http_no_server counted" "$(stat_of "$log" http_no_server)" -ge 33
tb_check_cmp "refused_head_too_large counted" "$(stat_of "$log" refused_head_too_large)" -eq 1
tb_check_cmp "refused_smuggling counted" "$(stat_of "$log" refused_smuggling)" -eq 1
tb_check_cmp "refused_bad_request counted" "$(stat_of "$log" refused_bad_request)" -eq 1
tb_check_cmp "refused_not_implemented counted" "$(stat_of "$log" refused_not_implemented)" -eq 1
tb_check_cmp "request_timeouts counted" "$(stat_of "$log" request_timeouts)" -eq 1
tb_check_cmp "drop_tcp_closed_port counted" "$(stat_of "$log" drop_tcp_closed_port)" -ge 1
tb_check_cmp "no bad TCP checksum from the kernel client" "$(stat_of "$log" drop_bad_tcp_checksum)" -eq 0
established=$(stat_of "$log" tcp_established)
ended=$(($(stat_of "$log" clients_closed) + $(stat_of "$log" client_resets)))
tb_check_cmp "every established connection ended (closed or reset by the client)" \
    "$ended" -eq "$established"
tb_check_cmp "no connection left in the flow table (flows gauge)" "$(stat_of "$log" flows)" -eq 0
tb_check_cmp "no half-open connection left" "$(stat_of "$log" half_open)" -eq 0
tb_check_cmp "no connection needed a retransmission timeout" \
    "$(stat_of "$log" tcp_retransmit_timeouts)" -eq 0

tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
