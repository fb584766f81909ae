#!/usr/bin/env bash
# docker/test.sh — the Docker test bed (docker/README.md): Splicer, three nginx servers and a
# client as containers on two Docker networks, Splicer's ports on net_tap (bridged) and on
# net_af_packet, and the net_ring bench in a container.
#
#   docker/test.sh          up, run, bench, down: what scripts/test.sh (CI) runs; exit 0
#                           when every check passed. Teardown runs even on failure.
#   docker/test.sh up       build the binaries (host cargo), the base image (once per
#                           machine), the Splicer image; write the configurations; start
#                           the containers and wait until Splicer and nginx answer
#   docker/test.sh run      the checks, against a bed that is up
#   docker/test.sh bench    the net_ring bench smoke in a container
#   docker/test.sh down     stop and remove the containers, networks, Splicer image and
#                           work dir (the base image stays)
#
# Environment: SPL_BED_DIR (work dir, default /tmp/spl-docker; configs, nginx files, logs,
# control sockets, mounted at the same path in every container), SPL_DOCKER_NO_BUILD=1 (do
# not run cargo), SPL_DOCKER_LOGS (where a failed run keeps its logs; default a new
# /tmp/spl-docker-logs.XXXXXX), SPL_DOCKER_KEEP=1 (leave the bed up after a full run).
set -uo pipefail

SPL_DOCKER_REPO=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n ${SPL_BED_DIR:-} && ( $SPL_BED_DIR != /* || $SPL_BED_DIR == / ) ]]; then
    echo "docker/test.sh: SPL_BED_DIR must be an absolute path other than /" >&2
    exit 2
fi
# The e2e suite's templates and checks: configurations (tb_write_splice_config), nginx
# configuration and test bodies (tb__nginx_conf, tb__make_files), tb_check...
# shellcheck source=tests/e2e/lib.sh
. "$SPL_DOCKER_REPO/tests/e2e/lib.sh"
TB_NAME=docker

PROJECT=spl-docker
IMAGE=spl-docker-splicer:bed
export SPL_BED_DIR=${SPL_BED_DIR:-/tmp/spl-docker}
export SPL_IMAGE=$IMAGE
TB_DIR=$SPL_BED_DIR
TB_LOG_DIR=$TB_DIR/logs
TB_WWW=$TB_DIR/www
CLIENT=$PROJECT-client
SERVERS=("$PROJECT-s1" "$PROJECT-s2" "$PROJECT-s3")
CONTAINERS=("$PROJECT-splicer-tap" "$PROJECT-splicer-afp" "${SERVERS[@]}" "$CLIENT")

# The two Splicers: name, container, outside/inside/VIP address, config, port devices.
VARIANTS=(tap afp)
declare -A V_CONTAINER=([tap]=$PROJECT-splicer-tap [afp]=$PROJECT-splicer-afp)
declare -A V_OUT=([tap]=198.18.0.1 [afp]=198.18.0.5)
declare -A V_IN=([tap]=198.19.0.1 [afp]=198.19.0.5)
declare -A V_VIP=([tap]=198.18.0.100 [afp]=198.18.0.105)
declare -A V_VDEVS=([tap]="" [afp]="net_af_packet0,iface=spl-out net_af_packet1,iface=spl-in")

if docker-compose version >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    COMPOSE=()
fi

dk_log() { printf '# [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$SPL_DOCKER_REPO/docker/compose.yaml" "$@"; }
# dk_client CMD... : run CMD in the client container.
dk_client() { docker exec "$CLIENT" "$@"; }
ctl() { docker exec "${V_CONTAINER[$1]}" splicer ctl --socket "$TB_DIR/run/$1.sock" "${@:2}"; }

# ---------------------------------------------------------------- up

dk_prerequisites() {
    [[ $(id -u) -eq 0 ]] || tb_die "the Docker test bed needs root (debootstrap, docker)"
    command -v docker >/dev/null || tb_die "no docker command"
    docker info >/dev/null 2>&1 || tb_die "the Docker engine does not answer (docker info)"
    [[ ${#COMPOSE[@]} -gt 0 ]] || tb_die "neither docker-compose nor 'docker compose' is installed"
}

# One bed per machine (its subnets and names are fixed): a full run holds the lock
# throughout; up, run, bench and down take it only to check that no full run is going on.
dk_lock() {
    mkdir -p /run/spl-docker
    exec {DK_LOCK_FD}>/run/spl-docker/bed.lock
    flock -w "$1" "$DK_LOCK_FD" || tb_die "another Docker test bed run holds /run/spl-docker/bed.lock"
}

dk_build() {
    local t0 stage rc=0
    if [[ ${SPL_DOCKER_NO_BUILD:-0} != 1 ]]; then
        dk_log "cargo build --release -p splicer -p splicer-bench"
        (cd "$SPL_DOCKER_REPO" && cargo build --release -p splicer -p splicer-bench) ||
            tb_die "cargo build failed"
    fi
    local bin
    for bin in splicer splicer-bench; do
        [[ -x $SPL_DOCKER_REPO/target/release/$bin ]] || tb_die "no target/release/$bin"
    done
    t0=$(date +%s)
    BASE=$("$SPL_DOCKER_REPO/docker/base.sh") || tb_die "no base image"
    dk_log "base image $BASE ($(($(date +%s) - t0)) s)"
    t0=$(date +%s)
    stage=$(mktemp -d /tmp/spl-docker-ctx.XXXXXX)
    cp "$SPL_DOCKER_REPO/target/release/splicer" "$SPL_DOCKER_REPO/target/release/splicer-bench" \
        "$SPL_DOCKER_REPO/docker/entry.sh" "$stage/"
    cp "$SPL_DOCKER_REPO/docker/Dockerfile" "$stage/"
    # The classic builder: no BuildKit cache is left behind, and the image's layers go
    # with `docker rmi`.
    DOCKER_BUILDKIT=0 docker build -q --rm --force-rm --build-arg "BASE=$BASE" \
        --label org.splicer.bed=1 -t "$IMAGE" "$stage" >"$stage.log" 2>&1 || rc=$?
    [[ $rc -eq 0 ]] || cat "$stage.log" >&2
    rm -rf "$stage" "$stage.log"
    [[ $rc -eq 0 ]] || tb_die "docker build of $IMAGE failed"
    dk_log "image $IMAGE built ($(($(date +%s) - t0)) s)"
}

# Removes the work dir, only if it is ours (holds .spl-docker-bed) or absent.
dk_remove_bed_dir() {
    [[ -e $TB_DIR ]] || return 0
    [[ -e $TB_DIR/.spl-docker-bed ]] ||
        tb_die "$TB_DIR exists and is not a Docker test bed work dir (no .spl-docker-bed): not removing it"
    rm -rf "$TB_DIR"
}

# The e2e suite's configurations and server files, written for the containers.
dk_write_bed() {
    local i name dir v vdevs
    dk_remove_bed_dir
    mkdir -p "$TB_DIR" "$TB_LOG_DIR" "$TB_DIR/run" "$TB_DIR/out"
    : >"$TB_DIR/.spl-docker-bed"
    tb__make_files
    for i in "${!TB_SERVER_IPS[@]}"; do
        name=s$((i + 1))
        dir=$TB_DIR/$name
        mkdir -p "$dir/www" "$dir/tmp"
        printf '%s\n' "$name" >"$dir/www/index.html"
        touch -d '2000-01-01 00:00:00 UTC' "$dir/www/index.html"
        tb__nginx_conf "$name" "${TB_SERVER_IPS[i]}" "$dir" >"$dir/nginx.conf"
    done
    for v in "${VARIANTS[@]}"; do
        read -r -a vdevs <<<"${V_VDEVS[$v]}"
        (
            TB_OUT_IP=${V_OUT[$v]} TB_IN_IP=${V_IN[$v]} TB_VIP=${V_VIP[$v]}
            TB_VDEV_OUT=${vdevs[0]:-} TB_VDEV_IN=${vdevs[1]:-}
            # t_splice_rules' rules, and a redirect virtual whose URL is the spliced VIP.
            tb_write_splice_config "$TB_DIR/$v.toml" "$PROJECT-$v" 1 "" "" "$TB_RULES_IMG_API

[[virtual]]
name = \"acme\"
address = \"$TB_VIP:8080\"
mode = \"redirect\"
bind = [\"u1\"]

[[url]]
name = \"u1\"
url = \"http://$TB_VIP/%d\""
        ) || tb_die "cannot write $v.toml"
        "$SPL_DOCKER_REPO/target/release/splicer" check --config "$TB_DIR/$v.toml" >/dev/null ||
            tb_die "splicer check refuses $TB_DIR/$v.toml"
    done
}

# Containers and networks of an earlier run (by our names only).
dk_remove_leftovers() {
    local c n
    for c in $(docker ps -aq --filter "name=^$PROJECT-"); do
        dk_log "leftover container $(docker inspect -f '{{.Name}}' "$c"): removing"
        docker rm -f "$c" >/dev/null
    done
    for n in $PROJECT-outside $PROJECT-inside; do
        if docker network inspect "$n" >/dev/null 2>&1; then
            dk_log "leftover network $n: removing"
            docker network rm "$n" >/dev/null
        fi
    done
}

dk_wait_ready() {
    local v i c body n
    for v in "${VARIANTS[@]}"; do
        for ((i = 0; i < 600; i++)); do
            [[ -e $TB_DIR/run/splicer-$v.ready ]] && break
            [[ $(docker inspect -f '{{.State.Running}}' "${V_CONTAINER[$v]}" 2>/dev/null) == true ]] || break
            sleep 0.1
        done
        [[ -e $TB_DIR/run/splicer-$v.ready ]] ||
            tb_die "Splicer in ${V_CONTAINER[$v]} is not ready (docker logs ${V_CONTAINER[$v]})"
    done
    n=${#SERVERS[@]}
    for i in "${!SERVERS[@]}"; do
        c=${SERVERS[(i + 1) % n]}
        body=""
        for ((t = 0; t < 50; t++)); do
            body=$(docker exec "$c" curl -sS -m 2 "http://${TB_SERVER_IPS[i]}/" 2>/dev/null) && break
            sleep 0.2
        done
        [[ $body == "s$((i + 1))" ]] || tb_die "nginx s$((i + 1)) does not answer (from $c: '$body')"
    done
}

dk_up() {
    local t0
    t0=$(date +%s)
    dk_prerequisites
    dk_build
    dk_remove_leftovers
    dk_write_bed
    dk_log "starting the containers (${COMPOSE[*]} -p $PROJECT up -d)"
    compose up -d --no-build >"$TB_LOG_DIR/compose-up.log" 2>&1 ||
        { cat "$TB_LOG_DIR/compose-up.log" >&2; tb_die "compose up failed"; }
    dk_wait_ready
    dk_log "bed up in $(($(date +%s) - t0)) s: Splicer on net_tap (VIP ${V_VIP[tap]}) and on net_af_packet (VIP ${V_VIP[afp]}), nginx s1..s3, client"
    if [[ $DK_FULL_RUN -eq 0 ]]; then
        dk_log "try: docker exec $CLIENT curl -sS http://${V_VIP[tap]}/"
        dk_log "     docker exec ${V_CONTAINER[tap]} splicer ctl --socket $TB_DIR/run/tap.sock show real"
        dk_log "then: docker/test.sh run; docker/test.sh down"
    fi
}

# ---------------------------------------------------------------- checks

# dk_bodies V : the e2e test bodies through V's VIP, fetched in the client container into
# the shared work dir, compared by sha256 on the host.
dk_bodies() {
    local v=$1 vip=${V_VIP[$1]} out=$TB_DIR/out/$1 n args=()
    mkdir -p "$out"
    for n in 0b 1b 100k 20m; do
        tb_check "$v: /files/$n intact" dk_fetch_ok "$n" "$out/$n" "http://$vip/files/$n"
    done
    # One client connection (keep-alive), then HTTP/1.0 and Connection: close.
    for n in 0b 1b 100k 20m; do
        args+=("http://$vip/files/$n" -o "$out/ka-$n")
    done
    n=$(dk_client curl -sS --fail -m 60 "${args[@]}" -w '%{num_connects}' 2>&1 | tr '\n' ' ')
    tb_check "$v: 0b, 1b, 100k, 20m on one keep-alive connection (connects: $n)" test "$n" = 1000
    tb_check "$v: keep-alive bodies intact" tb_body_ok_each "$out/ka-"
    tb_check "$v: HTTP/1.0 100k intact" dk_fetch_ok 100k "$out/h10" -0 "http://$vip/files/100k"
    tb_check "$v: Connection: close 20m intact" dk_fetch_ok 20m "$out/close" -H 'Connection: close' "http://$vip/files/20m"
    # Request bodies: PUT 20 MiB (curl sends Expect: 100-continue) and POST 100 KiB, stored
    # by nginx in the shared dav folder, read back through the VIP.
    tb_check "$v: PUT 20m (Expect: 100-continue) stored" \
        dk_client curl -sS --fail -m 60 -T "$TB_WWW/files/20m" "http://$vip/dav/$v-put-20m"
    tb_check "$v: PUT 20m read back intact" dk_fetch_ok 20m "$out/put" "http://$vip/dav/$v-put-20m"
    tb_check "$v: POST 100k stored" dk_client curl -sS --fail -m 30 \
        --data-binary "@$TB_WWW/files/100k" "http://$vip/post?name=$v-100k"
    tb_check "$v: POST 100k stored intact" tb_body_ok 100k "$TB_DIR/dav/post-$v-100k"
}

# dk_fetch_ok NAME FILE CURL_ARGS... : fetch in the client container, check body NAME.
dk_fetch_ok() {
    local name=$1 file=$2
    shift 2
    rm -f "$file"
    dk_client curl -sS --fail -m 60 -o "$file" "$@" || return 1
    tb_body_ok "$name" "$file"
}

tb_body_ok_each() {
    local p=$1 n rc=0
    for n in 0b 1b 100k 20m; do
        tb_body_ok "$n" "$p$n" || rc=1
    done
    return "$rc"
}

# dk_tally N CURL_ARGS... : N requests, each on a new client connection, from the client
# container; prints "s1=A s2=B s3=C other=D" from the bodies (sN).
dk_tally() {
    local n=$1
    shift
    # shellcheck disable=SC2016  # expanded by the container's bash
    dk_client bash -c '
        n=$1; shift; declare -A c=([s1]=0 [s2]=0 [s3]=0 [other]=0)
        for ((i = 0; i < n; i++)); do
            b=$(curl -sS -m 5 "$@" 2>/dev/null); [[ $b == s[123] ]] || b=other
            c[$b]=$((c[$b] + 1))
        done
        printf "s1=%s s2=%s s3=%s other=%s\n" "${c[s1]}" "${c[s2]}" "${c[s3]}" "${c[other]}"' \
        tally "$n" "$@"
}
count() { tb_raw_field "$1" "$2"; }

dk_spread_and_rules() {
    local v=$1 vip=${V_VIP[$1]} t
    t=$(dk_tally 30 "http://$vip/")
    tb_check "$v: / spread over s1, s2, s3 by round robin ($t)" \
        test "$(count "$t" s1)" -ge 5 -a "$(count "$t" s2)" -ge 5 -a "$(count "$t" s3)" -ge 5 -a "$(count "$t" other)" -eq 0
    t=$(dk_tally 10 "http://$vip/img/x")
    tb_check_cmp "$v: rule path_prefix /img/ -> s2 ($t)" "$(count "$t" s2)" -eq 10
    t=$(dk_tally 10 -H 'Host: api.test' "http://$vip/?api")
    tb_check_cmp "$v: rule host api.test -> s3 ($t)" "$(count "$t" s3)" -eq 10
    # Per request: on one client connection /img/x, Host: api.test, /img/x.
    t=$(dk_client curl -sS -m 5 "http://$vip/img/x" --next -sS -m 5 -H 'Host: api.test' \
        "http://$vip/?api" --next -sS -m 5 "http://$vip/img/x" 2>&1 | tr '\n' ' ')
    tb_check "$v: one connection, rules per request: s2 s3 s2 (got: $t)" test "$t" = "s2 s3 s2 "
}

# Pooling, from the nginx access logs: every request from V's inside address; server
# connections carried requests of several client connections; at most maxconns (64) each.
dk_pooling() {
    local v=$1 from=${V_IN[$1]} s lines conns maxreq all m
    declare -A mark
    for s in s1 s2 s3; do mark[$s]=$(tb_access_lines "$s"); done
    dk_tally 60 "http://${V_VIP[$v]}/" >/dev/null
    maxreq=0
    for s in s1 s2 s3; do
        lines=$(tb_access_since "$s" "${mark[$s]}" | grep -F " $from:" || true)
        tb_check_cmp "$v: $s logged requests from Splicer's inside address $from" \
            "$(grep -c . <<<"$lines")" -ge 10
        conns=$(awk '{ print $1 }' <<<"$lines" | sort -u | grep -c .)
        tb_check_cmp "$v: $s: 20 client connections came over at most 4 pooled server connections" \
            "$conns" -le 4
        all=$(awk '{ print $1 }' <<<"$(grep -F " $from:" "$(tb_access_log "$s")")" | sort -u | grep -c .)
        tb_check_cmp "$v: $s: Splicer never used more than maxconns (64) connections" "$all" -le 64
        m=$(awk '$2 > m { m = $2 } END { print m + 0 }' <<<"$lines")
        ((m > maxreq)) && maxreq=$m
    done
    tb_check_cmp "$v: a server connection carried requests of many client connections" "$maxreq" -ge 5
    tb_check "$v: the servers saw no client address" \
        bash -c "! cat $TB_LOG_DIR/nginx-s[123]-access.log | grep -F ' ${TB_CLIENT_IP}:'"
}

dk_live() {
    local v=$1 vip=${V_VIP[$1]} t
    tb_check "$v: splicer ctl show real" ctl "$v" show real
    tb_check "$v: ctl out-of-service real s1" ctl "$v" out-of-service real s1
    t=$(dk_tally 15 "http://$vip/")
    tb_check "$v: s1 out of service: no request reaches it ($t)" \
        test "$(count "$t" s1)" -eq 0 -a "$(count "$t" s2)" -gt 0 -a "$(count "$t" s3)" -gt 0 -a "$(count "$t" other)" -eq 0
    tb_check "$v: ctl in-service real s1" ctl "$v" in-service real s1
    t=$(dk_tally 15 "http://$vip/")
    tb_check "$v: s1 back in service answers again ($t)" test "$(count "$t" s1)" -gt 0 -a "$(count "$t" other)" -eq 0
    tb_check_fails "$v: a bad command fails (weight s9 5)" ctl "$v" weight s9 5
}

dk_redirect() {
    local v=$1 vip=${V_VIP[$1]} head out=$TB_DIR/out/$1-redirect
    head=$(dk_client curl -sS -m 5 -D - -o /dev/null "http://$vip:8080/files/100k" 2>&1 | tr -d '\r')
    tb_check "$v: redirect virtual answers 302 ($(head -n 1 <<<"$head"))" grep -q '^HTTP/1.1 302' <<<"$head"
    tb_check "$v: Location is the URL with %d expanded" grep -qx "Location: http://$vip/files/100k" <<<"$head"
    tb_check "$v: redirect with Connection: close" grep -qix 'Connection: close' <<<"$head"
    tb_check "$v: curl -L follows it onto a real, 100k intact" \
        dk_fetch_ok 100k "$out" -L "http://$vip:8080/files/100k"
}

# A server container stopped and started while both Splicers carry traffic: requests keep
# being answered (by s2, s3, or Splicer's own 5xx for those routed to s1 while it is down),
# and s1 serves again after its restart.
dk_server_restart() {
    local v rec pids=() t p
    for v in "${VARIANTS[@]}"; do
        rec=$TB_DIR/out/restart-$v
        : >"$rec"
        # shellcheck disable=SC2016  # expanded by the container's bash
        docker exec "$CLIENT" bash -c '
            end=$((SECONDS + $2))
            while ((SECONDS < end)); do
                rm -f "$3.body"
                curl -s -m 8 -o "$3.body" -w "%{http_code} " "http://$1/" >>"$3"
                b=$(cat "$3.body" 2>/dev/null); printf "%s\n" "${b:-none}" >>"$3"
                sleep 0.1
            done' restart "${V_VIP[$v]}" 16 "$rec" &
        pids+=($!)
    done
    sleep 3
    tb_check "docker stop s1 (traffic running)" docker stop -t 5 "${SERVERS[0]}"
    sleep 4
    tb_check "docker start s1" docker start "${SERVERS[0]}"
    for p in "${pids[@]}"; do wait "$p"; done
    # Splicer retries a real whose connections failed to open in the background, backing
    # off up to 30 s (docs/CONFIGURATION.md, connect_timeout): s1 is back within 40 s.
    pids=()
    for v in "${VARIANTS[@]}"; do
        # shellcheck disable=SC2016  # expanded by the container's bash
        docker exec "$CLIENT" bash -c '
            for ((i = 0; i < 400; i++)); do
                [[ $(curl -s -m 2 "http://$1/" 2>/dev/null) == s1 ]] && { echo "$((i / 10)) s"; exit 0; }
                sleep 0.1
            done; echo "not within 40 s"; exit 1' back "${V_VIP[$v]}" >"$TB_DIR/out/back-$v" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for v in "${VARIANTS[@]}"; do
        rec=$TB_DIR/out/restart-$v
        # shellcheck disable=SC2016  # an awk program
        tb_check "$v: every request of the loop was answered 200 by s1..s3 or a Splicer 5xx ($(sort "$rec" | uniq -c | tr -s ' \n' ' '))" \
            awk '!(($1 == "200" && $2 ~ /^s[123]$/) || $1 ~ /^50[234]$/) { bad++ } END { exit bad > 0 }' "$rec"
        tb_check_cmp "$v: s2 and s3 kept answering while s1 was down" "$(grep -c '^200 s[23]$' "$rec")" -ge 10
        tb_check "$v: after the restart s1 answers through the VIP again ($(cat "$TB_DIR/out/back-$v"))" \
            grep -q ' s$' "$TB_DIR/out/back-$v"
        t=$(dk_tally 15 "http://${V_VIP[$v]}/")
        tb_check "$v: then / is spread over s1, s2, s3 again ($t)" \
            test "$(count "$t" s1)" -ge 4 -a "$(count "$t" s2)" -ge 4 -a "$(count "$t" s3)" -ge 4
    done
}

# Both Splicers stop on SIGINT (docker stop) with exit 0 and their final statistics.
dk_stop_splicers() {
    local v c n
    for v in "${VARIANTS[@]}"; do
        c=${V_CONTAINER[$v]}
        n=$(grep -c 'final stats' "$TB_LOG_DIR/splicer-$v.log")
        tb_check "$v: docker stop (SIGINT)" docker stop -t 20 "$c"
        tb_check_cmp "$v: Splicer exited 0" "$(docker inspect -f '{{.State.ExitCode}}' "$c")" -eq 0
        tb_check_cmp "$v: final stats logged" "$(grep -c 'final stats' "$TB_LOG_DIR/splicer-$v.log")" -eq $((n + 1))
        tb_check "$v: no panic" bash -c "! grep -q panicked '$TB_LOG_DIR/splicer-$v.log'"
    done
}

dk_run() {
    local v t0
    t0=$(date +%s)
    for c in "${CONTAINERS[@]}"; do
        [[ $(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null) == true ]] ||
            tb_die "container $c does not run (docker/test.sh up)"
    done
    for v in "${VARIANTS[@]}"; do
        tb_log "---- $v: Splicer on $( [[ $v == tap ]] && echo 'net_tap bridged to' || echo 'net_af_packet on') the container networks, VIP ${V_VIP[$v]}"
        tb_check "$v: client pings the VIP" dk_client ping -n -q -c 3 -i 0.2 -W 2 "${V_VIP[$v]}"
        dk_bodies "$v"
        dk_spread_and_rules "$v"
        dk_pooling "$v"
        dk_live "$v"
        dk_redirect "$v"
    done
    tb_log "---- a server container stopped and started under traffic"
    dk_server_restart
    dk_stop_splicers
    dk_log "checks took $(($(date +%s) - t0)) s"
    if [[ $DK_FULL_RUN -eq 0 ]]; then
        # `run` alone leaves the bed as it found it: both Splicers running again (a
        # container that starts again gets fresh interfaces from Docker).
        for v in "${VARIANTS[@]}"; do
            docker start "${V_CONTAINER[$v]}" >/dev/null || tb_die "cannot start ${V_CONTAINER[$v]} again"
        done
        dk_wait_ready
        dk_log "both Splicers started again; the bed stays up (docker/test.sh down)"
    fi
}

# ---------------------------------------------------------------- bench

dk_bench() {
    local out t0 rc=0
    t0=$(date +%s)
    out=$TB_LOG_DIR/bench.log
    tb_log "---- net_ring: splicer-bench all --no-huge --seconds 1 in a container"
    compose --profile bench run --rm bench >"$out" 2>&1 || rc=$?
    # A stall (the worker lcore got no CPU for 2 s on a busy 2-core machine: a whole
    # window, 256 or 512 packets, "in flight never came back") is run once more; a lost
    # packet (a few never came back) or a wrong one (a verification error) never is.
    if [[ $rc -ne 0 ]] && grep -Eq ': (256|512) packets in flight never came back' "$out"; then
        tb_log "bench stalled ($(grep -h 'never came back' "$out")); load: $(cut -d' ' -f1-3 /proc/loadavg); running it once more"
        mv "$out" "$out.stalled"
        rc=0
        compose --profile bench run --rm bench >"$out" 2>&1 || rc=$?
    fi
    tb_check_cmp "splicer-bench all in a container exits 0" "$rc" -eq 0 || tail -n 20 "$out" | sed 's/^/    | /'
    # Each splice scenario runs right after its own self-looped baseline (`selfloop`).
    tb_check_cmp "all four scenarios verified" \
        "$(grep 'packets verified' "$out" | grep -cv 'selfloop: ')" -eq 4
    tb_check_cmp "... the three splice scenarios each after a verified self-looped baseline" \
        "$(grep 'packets verified' "$out" | grep -c 'selfloop: ')" -eq 3
    # The verification is real: a worker that corrupts one checksum fails the run.
    rc=0
    compose --profile bench run --rm bench baseline --no-huge --seconds 0.5 \
        --file-prefix spl-docker-bench-fault --inject-fault checksum >"$out.fault" 2>&1 || rc=$?
    tb_check_cmp "with --inject-fault checksum the bench fails" "$rc" -ne 0
    grep -h 'splicer-bench: ' "$out" | grep -v 'pipeline counters\|state estimate' | sed 's/^/# /'
    dk_log "bench took $(($(date +%s) - t0)) s"
}

# ---------------------------------------------------------------- down

dk_collect_logs() {
    local dest=$1 c
    mkdir -p "$dest"
    for c in "${CONTAINERS[@]}"; do
        docker inspect "$c" >/dev/null 2>&1 || continue
        docker logs "$c" >"$dest/docker-$c.log" 2>&1
        docker inspect -f '{{.State.Status}} exit={{.State.ExitCode}}' "$c" >>"$dest/docker-$c.log" 2>&1
    done
    [[ -d $TB_LOG_DIR ]] && cp -a "$TB_LOG_DIR/." "$dest/" 2>/dev/null
    [[ -d $TB_DIR ]] && cp -a "$TB_DIR"/*.toml "$dest/" 2>/dev/null
    return 0
}

dk_down() {
    local left
    if [[ ${#COMPOSE[@]} -gt 0 ]]; then
        compose --profile bench down --remove-orphans -t 20 >/dev/null 2>&1 ||
            dk_log "compose down failed"
    fi
    dk_remove_leftovers
    if docker image inspect "$IMAGE" >/dev/null 2>&1; then
        docker rmi "$IMAGE" >/dev/null || dk_log "cannot remove image $IMAGE"
    fi
    dk_remove_bed_dir
    left=$(docker ps -a --format '{{.Names}}' | grep "^$PROJECT" || true)
    left+=$(docker network ls --format '{{.Name}}' | grep "^$PROJECT" || true)
    left+=$(docker images -a --filter label=org.splicer.bed=1 -q)
    [[ -z $left ]] || { dk_log "left behind: $left"; return 1; }
    dk_log "down: no container, network or image of the bed left (base $("$SPL_DOCKER_REPO/docker/base.sh" --print-hash) kept)"
}

DK_FULL_RUN=0
dk_on_exit() {
    local rc=$? dest
    trap - EXIT
    [[ $DK_FULL_RUN -eq 1 ]] || exit "$rc"
    if [[ $rc -ne 0 || $TB_FAILURES -gt 0 ]]; then
        dest=${SPL_DOCKER_LOGS:-$(mktemp -d /tmp/spl-docker-logs.XXXXXX)}
        dk_collect_logs "$dest"
        printf '# logs of every container kept in %s\n' "$dest"
        for f in "$dest"/splicer-*.log; do
            [[ -s $f ]] || continue
            printf '# ---- last lines of %s\n' "$f"
            grep -av ' stats ' "$f" | tail -n 15 | sed 's/^/# | /'
        done
        [[ $rc -ne 0 ]] || rc=1
    fi
    if [[ ${SPL_DOCKER_KEEP:-0} == 1 ]]; then
        dk_log "SPL_DOCKER_KEEP=1: the bed stays up (docker/test.sh down removes it)"
    else
        dk_down || rc=1
    fi
    exit "$rc"
}

# ---------------------------------------------------------------- main

cmd=${1:-all}
case $cmd in
up)
    dk_lock 0
    dk_up
    ;;
run)
    dk_prerequisites
    dk_lock 0
    dk_run
    tb_finish
    ;;
bench)
    dk_prerequisites
    dk_lock 0
    docker image inspect "$IMAGE" >/dev/null 2>&1 || tb_die "no image $IMAGE: docker/test.sh up first"
    [[ -d $TB_LOG_DIR ]] || mkdir -p "$TB_LOG_DIR"
    dk_bench
    tb_finish
    ;;
down)
    dk_prerequisites
    dk_lock 0
    dk_down
    ;;
all)
    start=$(date +%s)
    dk_prerequisites
    dk_lock 600
    DK_FULL_RUN=1
    trap dk_on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    dk_up
    dk_run
    dk_bench
    dk_log "Docker test bed: $((TB_CHECKS - TB_FAILURES)) of $TB_CHECKS checks passed in $(($(date +%s) - start)) s"
    [[ $TB_FAILURES -eq 0 ]]
    ;;
*)
    echo "usage: docker/test.sh [up|run|bench|down]" >&2
    exit 2
    ;;
esac
