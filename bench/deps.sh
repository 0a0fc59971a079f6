#!/bin/sh
# bench/deps.sh: install (apt-get, as root) what bench/run needs: its tools and batchdrop's build dependencies.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "bench/deps.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    mawk zstd gzip inotify-tools openssh-client openssh-server time jq util-linux redis-server redis-tools iproute2 \
    gcc make autoconf automake libtool pkg-config git \
    libconfig-dev libzstd-dev zlib1g-dev liblmdb-dev libjansson-dev libssl-dev libssh2-1-dev libseccomp-dev libsystemd-dev libhiredis-dev
