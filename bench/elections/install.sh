#!/usr/bin/env bash
# Installs what `go run ./bench peers` measures, from Debian's packages:
# the etcd server and client, ZooKeeper, Curator's recipes (which bring
# Curator's framework and client, ZooKeeper's client and their Java
# dependencies) and, if javac is missing, a JDK to compile the Curator
# campaigner. Packages already installed are left alone.
#
# Exit status: 0 when everything is installed; 3 when it cannot be (not
# Debian, not root, or apt-get failed), with the reason on the last line it
# writes, which the harness reports. It writes everything on stderr.
set -euo pipefail
exec 1>&2 # everything to stderr, which the harness logs


pkgs=(etcd-server etcd-client zookeeper libcurator-recipes-java)
command -v javac >/dev/null || pkgs+=(default-jdk-headless)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install: all present: ${pkgs[*]}"
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "install: no apt-get here (not Debian): install by hand: ${missing[*]}"
	exit 3
fi
if [ "$(id -u)" != 0 ]; then
	echo "install: not root, so cannot apt-get install: ${missing[*]} (run bench/elections/install.sh as root)"
	exit 3
fi

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y --no-install-recommends "${missing[@]}"; }
echo "install: apt-get install ${missing[*]}"
# A machine whose package lists are missing or stale cannot find or fetch
# the packages: update the lists and try once more.
if ! install; then
	echo "install: retrying after apt-get update"
	if ! { apt-get update && install; }; then
		echo "install: apt-get install ${missing[*]} failed (see above)"
		exit 3
	fi
fi
# etcd-server's package may start a system etcd (where services start on
# install); it is left alone: the benchmark's members use their own ports.
echo "install: done"
