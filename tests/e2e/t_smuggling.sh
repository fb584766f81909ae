#!/usr/bin/env bash
# t_smuggling — every request smuggling vector of docs/SMUGGLING.md, sent raw to the VIP
# of a virtual spliced onto the three nginx servers, each real with pool = 1 and
# maxconns = 1 (so every request to a real shares its one server connection):
#  * each vector gets the answer the table gives: Splicer's own refusal (400, 501 or 505,
#    no X-Server header, connection closed by Splicer) or the server's answer to the
#    request forwarded unchanged (X-Server header);
#  * after each vector a normal request on a new connection (GET /after/NAME) gets 200:
#    no server connection was left desynchronised;
#  * the refusal counters move by exactly the number of vectors the table gives them;
#  * the bodies the servers stored for the forwarded PUT/POST vectors are exactly the
#    bytes the client meant (chunk extensions and trailers removed by the server);
#  * the servers' access logs hold exactly the forwarded vectors' requests and the
#    /after/ requests, each once (a vector refused mid-body may appear once, never with a
#    2xx), and nowhere `/smuggled`, the request every attack hides in a body;
#  * no panic, and SIGINT exits 0.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_setup

prefix=$(tb_unique_prefix smuggling)
cfg=$TB_DIR/smuggling.toml
log=$TB_LOG_DIR/splicer-smuggling.log
tb_write_splice_config "$cfg" "$prefix" 1 "" "" "" 1 1
tb_start_splicer "$cfg" "$log" || tb_die "Splicer did not start"

w=$(tb_in "$TB_NS_CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$TB_VIP/")
tb_check "a valid request is spliced to a server: 200 ($w)" test "$w" = 200

declare -A mark
for s in s1 s2 s3; do
    mark[$s]=$(tb_access_lines "$s")
done

# ---------------------------------------------------------------- the vectors
# V NAME WANT COUNTER PIECE... : one vector. WANT: the statuses the client must get.
# COUNTER: the refusal counter that moves (Splicer answers), "-" when the request is
# forwarded (a server answers), "mid" when Splicer refuses the body after the head went to
# a server (refused_bad_body; the server may log the request, never with a 2xx).
vectors=$TB_DIR/vectors.txt
: >"$vectors"
declare -A want_counter=() kind=()
declare -a forwarded_lines=() mid_lines=()
V() {
    local name=$1 want=$2 counter=$3 p
    shift 3
    kind[$name]=$counter
    printf '%s|%s' "$name" "$want" >>"$vectors"
    for p in "$@"; do printf '|%s' "$p" >>"$vectors"; done
    printf '\n' >>"$vectors"
    case $counter in
    -) ;;
    mid) want_counter[refused_bad_body]=$((${want_counter[refused_bad_body]:-0} + 1)) ;;
    *) want_counter[$counter]=$((${want_counter[$counter]:-0} + 1)) ;;
    esac
}
# F NAME REQUEST-LINE : the request line a forwarded vector leaves in a server's log.
F() { forwarded_lines+=("$2"); }

SM='GET /smuggled HTTP/1.1\r\nHost: www\r\n\r\n' # 37 bytes, 0x25
H='Host: www\r\n'
sm=refused_smuggling
br=refused_bad_request

# CL.TE, TE.CL and the Transfer-Encoding obfuscations (TE.TE).
V cl_te 400 $sm "POST /v/cl_te HTTP/1.1\r\n${H}Content-Length: 42\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
V te_cl 400 $sm "POST /v/te_cl HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n25\r\n$SM\r\n0\r\n\r\n"
V te_cl_zero 400 $sm "POST /v/te_cl_zero HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n25\r\n$SM\r\n0\r\n\r\n"
V te_obfuscated_cl 400 $sm "POST /v/te_obfuscated_cl HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n25\r\n$SM\r\n0\r\n\r\n"
te() { # te NAME WANT COUNTER FIELD-LINES : a chunked POST hiding $SM after its last chunk
    V "$1" "$2" "$3" "POST /v/$1 HTTP/1.1\r\n$H$4\r\n0\r\n\r\n$SM"
}
te te_space_before_colon 400 $br 'Transfer-Encoding : chunked\r\n'
te te_xchunked 400 $sm 'Transfer-Encoding: xchunked\r\n'
te te_chunked_identity 400 $sm 'Transfer-Encoding: chunked, identity\r\n'
te te_identity_chunked 501 refused_not_implemented 'Transfer-Encoding: identity, chunked\r\n'
te te_gzip_chunked 501 refused_not_implemented 'Transfer-Encoding: gzip, chunked\r\n'
te te_gzip 400 $sm 'Transfer-Encoding: gzip\r\n'
te te_tab 400 $sm 'Transfer-Encoding:\tchunked\r\n'
te te_vertical_tab 400 $br 'Transfer-Encoding:\x0bchunked\r\n'
te te_upper 400 $sm 'Transfer-Encoding: CHUNKED\r\n'
te te_capitalised 400 $sm 'Transfer-Encoding: Chunked\r\n'
te te_twice 400 $sm 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n'
te te_twice_identity 400 $sm 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n'
te te_twice_empty 400 $sm 'Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n'
te te_chunked_chunked 400 $sm 'Transfer-Encoding: chunked, chunked\r\n'
te te_obs_fold 400 $br 'Transfer-Encoding:\r\n chunked\r\n'
te te_obs_fold_after_other 400 $br 'X: y\r\n Transfer-Encoding: chunked\r\n'
te te_trailing_comma 400 $sm 'Transfer-Encoding: chunked,\r\n'
te te_leading_comma 400 $sm 'Transfer-Encoding: ,chunked\r\n'
te te_quoted 400 $sm 'Transfer-Encoding: "chunked"\r\n'
te te_trailing_space 400 $sm 'Transfer-Encoding: chunked \r\n'
te te_two_spaces 400 $sm 'Transfer-Encoding:  chunked\r\n'
te te_parameter 400 $sm 'Transfer-Encoding: chunked;q=1\r\n'
te te_empty 400 $sm 'Transfer-Encoding:\r\n'
te te_nul 400 $br 'Transfer-Encoding: chunked\x00\r\n'
te te_underscore 400 $sm 'Transfer_Encoding: chunked\r\nContent-Length: 5\r\n'
V te_space_first_header 400 $br "POST /v/te_space_first_header HTTP/1.1\r\n Transfer-Encoding: chunked\r\n$H\r\n0\r\n\r\n$SM"
V te_http10 400 $sm "POST /v/te_http10 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
V te_http10_with_cl 400 $sm "POST /v/te_http10_with_cl HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
for n in te_canonical te_lowercase_name te_no_space; do
    case $n in
    te_canonical) f='Transfer-Encoding: chunked' ;;
    te_lowercase_name) f='transfer-encoding: chunked' ;;
    te_no_space) f='Transfer-Encoding:chunked' ;;
    esac
    V $n 201 - "PUT /dav/v-$n HTTP/1.1\r\n$H$f\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    F $n "PUT /dav/v-$n HTTP/1.1"
done

# Content-Length spellings (CL.CL): the body is "hello" and then $SM.
cl() { V "$1" "$2" "$3" "POST /v/$1 HTTP/1.1\r\n$H$4\r\nhello$SM"; }
cl cl_list_equal 400 $sm 'Content-Length: 5, 5\r\n'
cl cl_list_differ 400 $sm 'Content-Length: 5, 42\r\n'
cl cl_twice_equal 400 $sm 'Content-Length: 5\r\nContent-Length: 5\r\n'
cl cl_twice_differ 400 $sm 'Content-Length: 5\r\nContent-Length: 42\r\n'
cl cl_leading_zeros 400 $sm 'Content-Length: 005\r\n'
cl cl_double_zero 400 $sm 'Content-Length: 00\r\n'
cl cl_plus 400 $sm 'Content-Length: +5\r\n'
cl cl_minus 400 $sm 'Content-Length: -1\r\n'
cl cl_spaces 400 $sm 'Content-Length:  5 \r\n'
cl cl_tab 400 $sm 'Content-Length:\t5\r\n'
cl cl_inner_space 400 $sm 'Content-Length: 4 2\r\n'
cl cl_hex 400 $sm 'Content-Length: 0x5\r\n'
cl cl_huge 400 $sm 'Content-Length: 99999999999999999999\r\n'
cl cl_above_i64 400 $sm 'Content-Length: 9223372036854775808\r\n'
cl cl_empty 400 $sm 'Content-Length:\r\n'
cl cl_underscore 400 $sm 'Content_Length: 5\r\n'
cl cl_space_before_colon 400 $br 'Content-Length : 5\r\n'
cl cl_obs_fold 400 $br 'Content-Length:\r\n 5\r\n'
V cl_canonical 201 - "POST /post?name=cl_canonical HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello"
F cl_canonical "POST /post?name=cl_canonical HTTP/1.1"
V cl_no_space 201 - "POST /post?name=cl_no_space HTTP/1.1\r\n${H}Content-Length:5\r\n\r\nhello"
F cl_no_space "POST /post?name=cl_no_space HTTP/1.1"
V cl_zero 201 - "POST /post?name=cl_zero HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n"
F cl_zero "POST /post?name=cl_zero HTTP/1.1"
V cl_http10 201 - "POST /post?name=cl_http10 HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"
F cl_http10 "POST /post?name=cl_http10 HTTP/1.0"

# Line ends, control bytes and field syntax.
g() { V "$1" 400 $br "GET /v/$1 HTTP/1.1\r\n$2\r\n"; }
g bare_lf_line_end "Host: www\nX-Smuggled: 1\r\n"
V bare_lf_request_line 400 $br 'GET /v/bare_lf_request_line HTTP/1.1\nHost: www\r\n\r\n'
V bare_lf_head_end 400 $br 'GET /v/bare_lf_head_end HTTP/1.1\r\nHost: www\r\n\n'
g bare_cr_in_value "${H}X: a\rb\r\n"
g bare_cr_line_end "Host: www\rX: b\r\n"
V bare_cr_request_line 400 $br 'GET /v/bare_cr_request_line HTTP/1.1\rHost: www\r\n\r\n'
g nul_in_value "${H}X: a\x00b\r\n"
g nul_in_name "${H}X\x00Y: b\r\n"
V nul_in_target 400 $br 'GET /v/nul\x00in_target HTTP/1.1\r\nHost: www\r\n\r\n'
g obs_fold "${H}X: one\r\n two\r\n"
g obs_fold_tab "${H}X: one\r\n\ttwo\r\n"
g space_before_colon 'Host : www\r\n'
g tab_before_colon "${H}X\t: b\r\n"
V name_with_space 400 $br "POST /v/name_with_space HTTP/1.1\r\n${H}Content Length: 5\r\n\r\nhello"
g name_invalid_char "${H}X[1]: b\r\n"
g name_non_ascii "${H}Caf\xe9: b\r\n"
g name_empty "${H}: b\r\n"

# Host and the request-target.
g host_twice_equal "${H}Host: www\r\n"
g host_twice_differ "${H}host: evil\r\n"
g host_userinfo 'Host: user@www\r\n'
g host_port_junk 'Host: www:80x\r\n'
g host_two_ports 'Host: www:80:81\r\n'
g host_list 'Host: www, evil\r\n'
g host_empty 'Host:\r\n'
g host_missing ''
V absolute_other_host 400 $br 'GET http://evil/v/absolute_other_host HTTP/1.1\r\nHost: www\r\n\r\n'
V absolute_other_port 400 $br 'GET http://www:8080/v/absolute_other_port HTTP/1.1\r\nHost: www\r\n\r\n'
V absolute_userinfo 400 $br 'GET http://www@evil/v/absolute_userinfo HTTP/1.1\r\nHost: evil\r\n\r\n'
V absolute_no_host 400 $br 'GET http://www/v/absolute_no_host HTTP/1.1\r\n\r\n'
V target_fragment 400 $br 'GET /v/target_fragment#b HTTP/1.1\r\nHost: www\r\n\r\n'
V target_relative 400 $br 'GET v/target_relative HTTP/1.1\r\nHost: www\r\n\r\n'
V absolute_same_host 200 - 'GET http://www:80/v/absolute_same_host HTTP/1.1\r\nHost: WWW:80\r\n\r\n'
F absolute_same_host "GET http://www:80/v/absolute_same_host HTTP/1.1"

# The request line.
V line_double_space 400 $br 'GET  /v/line_double_space HTTP/1.1\r\nHost: www\r\n\r\n'
V line_trailing_space 400 $br 'GET /v/line_trailing_space HTTP/1.1 \r\nHost: www\r\n\r\n'
V line_tab 400 $br 'GET\t/v/line_tab HTTP/1.1\r\nHost: www\r\n\r\n'
V line_lowercase_version 400 $br 'GET /v/line_lowercase_version http/1.1\r\nHost: www\r\n\r\n'
V line_http09 400 $br 'GET /v/line_http09\r\n\r\n'
V line_version_12 505 refused_version 'GET /v/line_version_12 HTTP/1.2\r\nHost: www\r\n\r\n'
V line_leading_bare_lf 400 $br '\nGET /v/line_leading_bare_lf HTTP/1.1\r\nHost: www\r\n\r\n'
V line_leading_empty_line 200 - '\r\nGET /v/line_leading_empty_line HTTP/1.1\r\nHost: www\r\n\r\n'
F line_leading_empty_line "GET /v/line_leading_empty_line HTTP/1.1"

# Bodies on methods that have none; Connection options naming framing fields.
V get_with_body 400 $sm "GET /v/get_with_body HTTP/1.1\r\n${H}Content-Length: 37\r\n\r\n$SM"
V get_chunked 400 $sm "GET /v/get_chunked HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n25\r\n$SM\r\n0\r\n\r\n"
V head_with_body 400 $sm "HEAD /v/head_with_body HTTP/1.1\r\n${H}Content-Length: 37\r\n\r\n$SM"
V trace_with_body 400 $sm "TRACE /v/trace_with_body HTTP/1.1\r\n${H}Content-Length: 37\r\n\r\n$SM"
V connection_content_length 400 $sm "POST /v/connection_content_length HTTP/1.1\r\n${H}Connection: Content-Length\r\nContent-Length: 42\r\n\r\nhello$SM"
V connection_transfer_encoding 400 $sm "POST /v/connection_transfer_encoding HTTP/1.1\r\n${H}Connection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SM"
V connection_host 400 $sm "GET /v/connection_host HTTP/1.1\r\n${H}Connection: close, Host\r\n\r\n"
V get_cl_zero 200 - "GET /v/get_cl_zero HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n"
F get_cl_zero "GET /v/get_cl_zero HTTP/1.1"
V post_with_body 201 - "POST /post?name=post_with_body HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello"
F post_with_body "POST /post?name=post_with_body HTTP/1.1"
# nginx's DAV module refuses a DELETE with a body (415) after discarding the body.
V delete_with_body 415 - "DELETE /dav/v-delete_with_body HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}"
F delete_with_body "DELETE /dav/v-delete_with_body HTTP/1.1"

# Chunked bodies, after a canonical head: PUT /dav/v-NAME.
ch() { # ch NAME WANT COUNTER BODY
    V "$1" "$2" "$3" "PUT /dav/v-$1 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n$4"
    [[ $3 == - ]] && F "$1" "PUT /dav/v-$1 HTTP/1.1"
}
bb=refused_bad_body
ch chunk_canonical 201 - '5\r\nhello\r\n0\r\n\r\n'
ch chunk_size_17_digits 400 $bb "10000000000000000\r\nhello\r\n0\r\n\r\n"
ch chunk_size_overflow 400 $bb "fffffffffffffffff5\r\nhello\r\n0\r\n\r\n"
ch chunk_size_leading_zeros_17 400 $bb '00000000000000005\r\nhello\r\n0\r\n\r\n'
ch chunk_size_leading_zeros_16 201 - '0000000000000005\r\nhello\r\n0\r\n\r\n'
ch chunk_size_above_i64 400 $bb '8000000000000000\r\nhello\r\n0\r\n\r\n'
ch chunk_size_space_after 400 $bb '5 \r\nhello\r\n0\r\n\r\n'
ch chunk_size_space_before 400 $bb ' 5\r\nhello\r\n0\r\n\r\n'
ch chunk_size_tab_before_ext 400 $bb '5\t;a=b\r\nhello\r\n0\r\n\r\n'
ch chunk_size_hex_prefix 400 $bb '0x5\r\nhello\r\n0\r\n\r\n'
ch chunk_size_negative 400 $bb '-5\r\nhello\r\n0\r\n\r\n'
ch chunk_size_empty 400 $bb "\r\nhello\r\n0\r\n\r\n"
ch chunk_size_bare_lf 400 $bb '5\nhello\r\n0\r\n\r\n'
ch chunk_ext 201 - '5;name=value\r\nhello\r\n0\r\n\r\n'
ch chunk_ext_quoted 201 - '5;a="b c;d"\r\nhello\r\n0\r\n\r\n'
ch chunk_ext_bare_lf 400 $bb "5;a\n$SM"
ch chunk_ext_bare_cr 400 $bb '5;a\rb\r\nhello\r\n0\r\n\r\n'
ch chunk_ext_control 400 $bb '5;a\x01\r\nhello\r\n0\r\n\r\n'
ch chunk_data_bare_lf 400 $bb "5\r\nhello\n0\r\n\r\n$SM"
ch chunk_data_longer_than_size 400 $bb "5\r\nhello$SM"
ch last_chunk_bare_lf 400 $bb "0\n\n$SM"
ch last_chunk_final_bare_lf 400 $bb "0\r\n\n$SM"
ch trailer 201 - '0\r\nX-Sum: 1\r\n\r\n'
ch trailer_content_length 400 $bb "0\r\nContent-Length: 37\r\n\r\n$SM"
ch trailer_transfer_encoding 400 $bb '0\r\nTransfer-Encoding: chunked\r\n\r\n'
ch trailer_host 400 $bb '0\r\nhost: evil\r\n\r\n'
ch trailer_content_length_underscore 400 $bb "0\r\nContent_Length: 37\r\n\r\n$SM"
ch trailer_obs_fold 400 $bb '0\r\nX: a\r\n b\r\n\r\n'
ch trailer_space_before_colon 400 $bb '0\r\nX : a\r\n\r\n'
ch trailer_bare_lf 400 $bb '0\r\nX: a\nY: b\r\n\r\n'
ch trailer_nul 400 $bb '0\r\nX: a\x00\r\n\r\n'
# What follows the last chunk is the next request (pipelining), framed and routed afresh.
ch data_after_last_chunk 201,200 - '0\r\n\r\nGET /v/data_after_last_chunk_next HTTP/1.1\r\nHost: www\r\n\r\n'
F data_after_last_chunk_next "GET /v/data_after_last_chunk_next HTTP/1.1"
# The end of a connection: bytes after a request that closes it are never a request (RFC
# 9112 §9.6), whether they come with it or after its response; HTTP/1.0 keep-alive goes
# on, request after request, each framed afresh.
V close_then_more 200 - "GET /v/close_then_more HTTP/1.1\r\n${H}Connection: close\r\n\r\n$SM"
F close_then_more "GET /v/close_then_more HTTP/1.1"
V close_then_more_later 200 - "GET /v/close_then_more_later HTTP/1.1\r\n${H}Connection: close\r\n\r\n" +0.3 "$SM"
F close_then_more_later "GET /v/close_then_more_later HTTP/1.1"
V http10_then_more 200 - "GET /v/http10_then_more HTTP/1.0\r\n\r\n$SM"
F http10_then_more "GET /v/http10_then_more HTTP/1.0"
V http10_keep_alive 200,200 - "GET /v/http10_keep_alive HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /v/http10_keep_alive_next HTTP/1.0\r\n\r\n"
F http10_keep_alive "GET /v/http10_keep_alive HTTP/1.0"
F http10_keep_alive_next "GET /v/http10_keep_alive_next HTTP/1.0"
# Expect: 100-continue: the server's 100 goes to the client, then its final answer (the
# batch client counts final responses only); one that answers early (417) never reads the
# body, so the body (hiding $SM) must not reach that server connection, nor any other, as
# a request.
V expect_continue 201 - "PUT /dav/v-expect_continue HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n" +0.3 'hello'
F expect_continue "PUT /dav/v-expect_continue HTTP/1.1"
V expect_early_answer 417 - "PUT /e417/expect_early_answer HTTP/1.1\r\n${H}Content-Length: 42\r\nExpect: 100-continue\r\n\r\n" +0.3 "hello$SM"
F expect_early_answer "PUT /e417/expect_early_answer HTTP/1.1"
V early_answer_body_in_same_send 417 - "PUT /e417/early_answer_body_in_same_send HTTP/1.1\r\n${H}Content-Length: 42\r\n\r\nhello$SM"
F early_answer_body_in_same_send "PUT /e417/early_answer_body_in_same_send HTTP/1.1"

# Upgrades (h2c smuggling: a server that switched would take the rest of the connection
# out of Splicer's framing and rules): refused, as docs/HTTP-POLICY.md says.
ni=refused_not_implemented
V upgrade_h2c 501 $ni "GET /v/upgrade_h2c HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n$SM"
V upgrade_websocket 501 $ni "GET /v/upgrade_websocket HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n$SM"
V upgrade_header_alone 501 $ni "GET /v/upgrade_header_alone HTTP/1.1\r\n${H}Upgrade: h2c\r\n\r\n$SM"

# Refused after the head went to a server: an overlong extension (longer than a segment)
# and a bad size sent 0.3 s after the head. The server connection is reset.
V chunk_ext_overlong 400 mid "PUT /dav/v-chunk_ext_overlong HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;$(head -c 5000 /dev/zero | tr '\0' a)\r\nhello\r\n0\r\n\r\n"
mid_lines+=("PUT /dav/v-chunk_ext_overlong HTTP/1.1")
V chunk_size_17_digits_late 400 mid "PUT /dav/v-chunk_size_17_digits_late HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n" +0.3 "10000000000000000\r\n$SM"
mid_lines+=("PUT /dav/v-chunk_size_17_digits_late HTTP/1.1")

# What the servers must have stored (the bytes the client meant, after the server decoded
# the chunked coding).
declare -A stored=(
    [v-te_canonical]=hello [v-te_lowercase_name]=hello [v-te_no_space]=hello
    [post-cl_canonical]=hello [post-cl_no_space]=hello [post-cl_zero]=""
    [post-cl_http10]=hello [post-post_with_body]=hello
    [v-chunk_canonical]=hello [v-chunk_size_leading_zeros_16]=hello [v-chunk_ext]=hello
    [v-chunk_ext_quoted]=hello [v-trailer]="" [v-data_after_last_chunk]=""
    [v-expect_continue]=hello
)

# ---------------------------------------------------------------- sending them
declare -A before=()
for c in "${!want_counter[@]}"; do
    before[$c]=$(stat_of "$log" "$c")
done
nvec=$(wc -l <"$vectors")
tb_log "sending $nvec vectors"
t0=$(date +%s)
results=$TB_LOG_DIR/smuggling-results.txt
tb_in "$TB_NS_CLIENT" timeout 240 python3 "$TB_REPO/tests/e2e/rawhttp.py" --batch "$TB_VIP" 80 "$vectors" >"$results" 2>&1
tb_log "sent in $(($(date +%s) - t0)) s"
tb_check_cmp "one result line per vector" "$(grep -c ' statuses=' "$results")" -eq "$nvec"

while IFS='|' read -r name want _; do
    line=$(grep -m1 "^$name " "$results")
    got=$(tb_raw_field "$line" statuses) || got=none
    from=$(tb_raw_field "$line" from) || from=none
    end=$(tb_raw_field "$line" end) || end=none
    after=$(tb_raw_field "$line" after) || after=none
    if [[ ${kind[$name]} != - ]]; then
        ok=0
        [[ $got == "$want" && $from == splicer && ($end == eof || $end == reset) ]] && ok=1
        tb_check "$name: Splicer answers $want and closes ($line)" test $ok = 1
    else
        ok=0
        [[ $got == "$want" && $from == s[123] ]] && ok=1
        tb_check "$name: forwarded, the server answers $want ($line)" test $ok = 1
    fi
    tb_check "$name: a request on a new connection afterwards gets 200 (after=$after)" test "$after" = 200
done < <(cut -d'|' -f1-2 "$vectors")

for c in "${!want_counter[@]}"; do
    tb_wait_stat_gt "$log" "$c" $((${before[$c]} + ${want_counter[$c]} - 1)) 5 >/dev/null
    d=$(($(stat_of "$log" "$c") - ${before[$c]}))
    tb_check_cmp "$c moved by ${want_counter[$c]} (by $d)" "$d" -eq "${want_counter[$c]}"
done

for f in "${!stored[@]}"; do
    got=$(cat "$TB_DIR/dav/$f" 2>/dev/null || echo "<missing>")
    tb_check "stored $f is '${stored[$f]}' ('$got')" test "$got" = "${stored[$f]}"
done
extra=$(cd "$TB_DIR/dav" 2>/dev/null && for f in *; do [[ -e $f && -z ${stored[$f]+x} ]] && echo "$f"; done)
tb_check "nothing else stored (${extra//$'\n'/ })" test -z "$extra"

# ---------------------------------------------------------------- the servers' logs
requests=$TB_DIR/requests.txt
for s in s1 s2 s3; do
    tb_access_since "$s" "${mark[$s]}"
done | sed -n 's/^[^"]*"\(.*\)" \([0-9]*\) [0-9]* [0-9]*$/\2 \1/p' | sort >"$requests"
tb_check_cmp "every access log line parsed" "$(wc -l <"$requests")" -eq \
    "$(for s in s1 s2 s3; do tb_access_since "$s" "${mark[$s]}"; done | wc -l)"
expected=$TB_DIR/expected.txt
{
    printf '%s\n' "${forwarded_lines[@]}"
    while IFS='|' read -r name _; do echo "GET /after/$name HTTP/1.1"; done <"$vectors"
} | sort >"$expected"
logged=$TB_DIR/logged.txt
cut -d' ' -f2- "$requests" | grep -vxF -f <(printf '%s\n' "${mid_lines[@]}") | sort >"$logged"
tb_check "the servers logged exactly the forwarded requests and the /after/ requests, once each" \
    diff "$expected" "$logged"
for m in "${mid_lines[@]}"; do
    n=$(grep -cxF "$m" <(cut -d' ' -f2- "$requests"))
    tb_check_cmp "refused mid-body, logged at most once: $m" "$n" -le 1
    tb_check_fails "refused mid-body, never a 2xx: $m" grep -qE "^2[0-9][0-9] $m\$" "$requests"
done
tb_check_fails "no server ever saw /smuggled" grep -q smuggled \
    "$(tb_access_log s1)" "$(tb_access_log s2)" "$(tb_access_log s3)"

tb_ctl show stats >"$TB_LOG_DIR/smuggling-stats.txt" 2>&1
tb_check_fails "no panic in Splicer's log" grep -Eqi 'panicked|backtrace' "$log"
tb_stop_splicer
tb_check_cmp "SIGINT: exit code 0" "$TB_SPLICER_RC" -eq 0
tb_finish
