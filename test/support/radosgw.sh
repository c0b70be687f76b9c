#!/usr/bin/env bash
# Starts a throwaway one-node Ceph cluster (one monitor, one in-memory OSD, no cephx) with the
# S3 gateway on 127.0.0.1:PORT, for the tests. Prints "READY <port>" once S3 answers.
#   test/support/radosgw.sh up DIR PORT ACCESS_KEY SECRET_KEY
#   test/support/radosgw.sh down DIR
#   test/support/radosgw.sh gateway-stop DIR / gateway-start DIR PORT   (an S3 outage, data kept)
set -euo pipefail

free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 20000 ))
    (echo > "/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

retry() { # retry N CMD...: the first start of Pacific's daemons sometimes exits ("wrong fsid").
  local n=$1; shift
  for ((i = 1; i <= n; i++)); do "$@" && return 0; sleep 0.5; done
  return 1
}

up() {
  local dir=$1 port=$2 ak=$3 sk=$4 mon fsid osd_uuid
  mon=$(free_port)
  fsid=$(cat /proc/sys/kernel/random/uuid)
  rm -rf "$dir"; mkdir -p "$dir"/{mon,osd0,run,log,rgw}
  cat > "$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
# Without these the monitor batches proposals for a second and start-up takes ~12 s.
paxos propose interval = 0.01
paxos min wait = 0.001
mon osd cache size min = 10
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 2147483648
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
keyring = $dir/keyring
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
CONF
  local c=(-c "$dir/ceph.conf")
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --add a "v1:127.0.0.1:$mon" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" 2>/dev/null
  ceph-mon "${c[@]}" -i a
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  timeout 60 ceph "${c[@]}" osd new "$osd_uuid" >/dev/null
  ceph-osd "${c[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>/dev/null
  retry 5 ceph-osd "${c[@]}" -i 0 2>/dev/null || { echo "ceph-osd did not start" >&2; exit 1; }
  retry 5 radosgw "${c[@]}" -n client.rgw || { echo "radosgw did not start" >&2; exit 1; }
  for ((i = 0; i < 240; i++)); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.25
  done
  curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" || { echo "radosgw is not answering on $port" >&2; exit 1; }
  timeout 60 radosgw-admin "${c[@]}" -n client.rgw user create --uid=test --display-name=test \
    --access-key="$ak" --secret="$sk" >/dev/null 2>&1
  echo "READY $port"
}

down() {
  local dir=$1 pids=() f p alive
  for n in client.rgw osd.0 mon.a; do
    f="$dir/run/$n.pid"
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  fi
  rm -rf "$dir"
}

# Stops only the S3 gateway, leaving the cluster (and the objects) in place: S3 is unreachable.
gateway_stop() {
  local dir=$1 f="$1/run/client.rgw.pid" p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  kill "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
}

# Starts the gateway again on the same cluster and port; prints "READY <port>" once S3 answers.
gateway_start() {
  local dir=$1 port=$2
  retry 5 radosgw -c "$dir/ceph.conf" -n client.rgw || { echo "radosgw did not start" >&2; exit 1; }
  for ((i = 0; i < 240; i++)); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && { echo "READY $port"; return; }
    sleep 0.25
  done
  echo "radosgw is not answering on $port" >&2
  exit 1
}

case "${1:-}" in
  up) shift; up "$@" ;;
  gateway-stop) shift; gateway_stop "$@" ;;
  gateway-start) shift; gateway_start "$@" ;;
  down) shift; down "$@" ;;
  *) echo "usage: $0 up DIR PORT ACCESS_KEY SECRET_KEY | down DIR | gateway-stop DIR | gateway-start DIR PORT" >&2; exit 2 ;;
esac
