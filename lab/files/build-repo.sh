#!/bin/bash
# Builds /srv/repo: a stand-in for download.docker.com (linux/debian) and for
# a docker-credential-helpers release, from Debian's own packages.
#
# Docker CE is rebuilt from Debian 13's (trixie's) packages: docker-ce from
# docker.io 26.1.5 (engine, units, init script and its maintainer scripts,
# which enable and start docker.service and docker.socket under systemd or
# the init script without it, as Docker's own do), docker-ce-cli from
# docker-cli, containerd.io from containerd and runc (with containerd's
# scripts: containerd.service enabled and started under systemd),
# docker-buildx-plugin and docker-compose-plugin (compose v2) from
# docker-buildx and docker-compose; with Docker's package names, versions,
# Conflicts/Replaces/Provides.
#
# Published for bookworm and trixie, but a binary only where the release's
# glibc is new enough for it: what needs a newer one is left out of that
# release and said so in dists/CODENAME/NOTES and lab.json. (Checked here:
# trixie's runc needs glibc 2.38, bookworm has 2.36: bookworm's containerd.io
# carries bookworm's own runc instead.)
# Writes /srv/repo/lab.json with what the lab's inventory needs.
set -euo pipefail
arch=$(dpkg --print-architecture)
root=/srv/repo/linux/debian
mkdir -p /build /srv/repo/releases /srv/repo/extra
cd /build

# Debian 13's packages, from the same mirror as this image's Debian 12
mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
echo "deb $mirror trixie main" > /etc/apt/sources.list.d/trixie.list
apt-get update -q >/dev/null
fetch() {  # suite package...: download into /build/SUITE and unpack each as x-PACKAGE
  local suite=$1; shift
  mkdir -p "/build/$suite"
  (cd "/build/$suite" && for p in "$@"; do apt-get download -q "$p/$suite" >/dev/null; done
   for deb in *.deb; do [ -d "x-${deb%%_*}" ] || dpkg-deb -R "$deb" "x-${deb%%_*}"; done)
}
fetch trixie docker.io docker-cli containerd runc docker-buildx docker-compose
fetch bookworm runc golang-docker-credential-helpers

upstream() { dpkg-deb -f "$1"_*.deb Version | sed -E 's/^[0-9]+://; s/[+~-].*//'; }
glibc_of() { apt-cache show --no-all-versions "libc6/$1" | awk '/^Version:/ { print $2 }' | sed 's/-.*//'; }
maint="dockmove lab <lab@dockmove.invalid>"
T=/build/trixie B=/build/bookworm
engine=$(cd $T && upstream docker.io)
containerd=$(cd $T && upstream containerd)
buildx=$(cd $T && upstream docker-buildx)
compose=$(cd $T && upstream docker-compose)

# the newest GLIBC_ symbol version any ELF file below DIR needs (empty: none)
needs_glibc() {
  find "$1" -path "$1/DEBIAN" -prune -o -type f -print0 | while IFS= read -r -d '' f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = "177ELF" ] || continue
    grep -aoE 'GLIBC_2\.[0-9]+' "$f" || true
  done | sort -uV | tail -n 1 | sed 's/^GLIBC_//'
}
# fits DIR GLIBC: no binary below DIR needs a newer glibc than GLIBC
fits() {
  local need; need=$(needs_glibc "$1")
  [ -z "$need" ] || dpkg --compare-versions "$need" le "$2"
}

control() {  # dir package version depends extra-fields description pool
  local dir=$1 pkg=$2 version=$3 depends=$4 extra=$5 desc=$6 pool=$7
  local size; size=$(du -sk --exclude=DEBIAN "$dir" | cut -f1)
  {
    echo "Package: $pkg"; echo "Version: $version"; echo "Architecture: $arch"
    echo "Maintainer: $maint"; echo "Installed-Size: $size"
    [ -n "$depends" ] && echo "Depends: $depends"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    echo "Section: admin"; echo "Priority: optional"
    echo "Homepage: https://www.docker.com"
    echo "Description: $desc"
    echo " Stand-in built by the dockmove lab from Debian's packages."
  } > "$dir/DEBIAN/control"
  (cd "$dir" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | xargs -0 -r md5sum > DEBIAN/md5sums)
  mkdir -p "$pool"
  dpkg-deb --root-owner-group -Zgzip -b "$dir" "$pool/${pkg}_${version#*:}_$arch.deb" >/dev/null
}

# publish CODENAME VERSION-NUMBER: the five packages for one release
publish() {
  local codename=$1 number=$2 libc; libc=$(glibc_of "$codename")
  local pool=$root/dists/$codename/pool/stable/$arch suffix="-1~debian.$number~$codename"
  local notes=$root/dists/$codename/NOTES w=/build/p-$codename
  mkdir -p "$pool" "$root/dists/$codename/stable/binary-$arch" "$w"
  echo "Docker CE stand-ins for Debian $number ($codename, glibc $libc), rebuilt from Debian 13's packages." > "$notes"
  skip() { echo "not published for $codename: $1" >> "$notes"; echo "repo: not published for $codename: $1" >&2; }

  # containerd.io = containerd + runc, with containerd's maintainer scripts
  local runc_from=$T/x-runc
  fits "$runc_from" "$libc" || {
    echo "containerd.io carries $codename's own runc $(cd $B && dpkg-deb -f runc_*.deb Version): trixie's runc needs glibc $(needs_glibc "$runc_from")" >> "$notes"
    runc_from=$B/x-runc; }
  rm -rf "$w/containerd.io"; cp -a "$T/x-containerd" "$w/containerd.io"
  tar -C "$runc_from" --exclude=./DEBIAN -cf - . | tar -C "$w/containerd.io" -xf -
  if fits "$w/containerd.io" "$libc"; then
    control "$w/containerd.io" containerd.io "$containerd-1" "libc6 (>= 2.34), libseccomp2 (>= 2.5.0)" \
      "Provides: containerd, runc
Conflicts: containerd, runc
Replaces: containerd, runc" "An open and reliable container runtime" "$pool"
  else skip "containerd.io (needs glibc $(needs_glibc "$w/containerd.io"))"; fi

  # docker-ce-cli = docker-cli (Debian 13 split the client out of docker.io)
  rm -rf "$w/cli"; cp -a "$T/x-docker-cli" "$w/cli"
  rm -rf "$w/cli/DEBIAN"/{preinst,postinst,prerm,postrm} "$w/cli/usr/share/doc" "$w/cli/usr/share/lintian"
  if fits "$w/cli" "$libc"; then
    control "$w/cli" docker-ce-cli "5:$engine$suffix" "libc6 (>= 2.34)" \
      "Recommends: docker-buildx-plugin, docker-compose-plugin
Conflicts: docker (<< 1.5~), docker-engine, docker.io, docker-cli
Replaces: docker-ce (<< 5:0), docker-engine, docker-cli" "Docker CLI: the open-source application container engine" "$pool"
  else skip "docker-ce-cli (needs glibc $(needs_glibc "$w/cli"))"; fi

  # docker-ce = docker.io: the engine, its units and init script, its scripts
  rm -rf "$w/engine"; cp -a "$T/x-docker.io" "$w/engine"
  rm -rf "$w/engine/usr/share/doc" "$w/engine/usr/share/lintian"
  if fits "$w/engine" "$libc"; then
    control "$w/engine" docker-ce "5:$engine$suffix" \
      "containerd.io (>= 1.6.24), docker-ce-cli, iptables, adduser, tini, sysvinit-utils, libc6 (>= 2.34), libsystemd0" \
      "Recommends: ca-certificates, git, xz-utils
Conflicts: docker (<< 1.5~), docker-engine, docker.io
Replaces: docker-engine" "Docker: the open-source application container engine" "$pool"
  else skip "docker-ce (needs glibc $(needs_glibc "$w/engine"))"; fi

  # the CLI plugins, where Docker puts them (not Debian's /usr/bin links)
  plugin() {  # package command from-dir version conflicts
    local dir=$w/$1
    rm -rf "$dir"; mkdir -p "$dir/DEBIAN" "$dir/usr/libexec/docker/cli-plugins"
    cp -a "$3/usr/libexec/docker/cli-plugins/docker-$2" "$dir/usr/libexec/docker/cli-plugins/"
    if fits "$dir" "$libc"; then
      control "$dir" "$1" "$4$suffix" "libc6 (>= 2.34)" "Enhances: docker-ce-cli
Conflicts: $5
Replaces: $5" "Docker $2 plugin" "$pool"
    else skip "$1 (needs glibc $(needs_glibc "$dir"))"; fi
  }
  plugin docker-buildx-plugin buildx "$T/x-docker-buildx" "$buildx" "docker-buildx"
  plugin docker-compose-plugin compose "$T/x-docker-compose" "$compose" "docker-compose (>= 2~), docker-compose-v2"

  # the index, signed below
  (cd "$root" && apt-ftparchive packages "dists/$codename/pool/stable/$arch" \
     > "dists/$codename/stable/binary-$arch/Packages")
  gzip -kf9 "$root/dists/$codename/stable/binary-$arch/Packages"
  (cd "$root" && apt-ftparchive -o APT::FTPArchive::Release::Origin=Docker \
    -o APT::FTPArchive::Release::Label=Docker \
    -o APT::FTPArchive::Release::Suite="$codename" \
    -o APT::FTPArchive::Release::Codename="$codename" \
    -o APT::FTPArchive::Release::Architectures="$arch" \
    -o APT::FTPArchive::Release::Components=stable \
    release "dists/$codename" > /tmp/Release)
  mv /tmp/Release "$root/dists/$codename/Release"
}
publish bookworm 12
publish trixie 13

# An old, broken-numbered credential helper (0.6.1 is in the range that
# aborts docker build) for tests of its replacement; not in the apt index.
# Built from bookworm's helper: `old` runs it.
cp -a "$B/x-golang-docker-credential-helpers" p-helper-old
control p-helper-old golang-docker-credential-helpers "0.6.1+lab-1" \
  "libc6 (>= 2.34), libglib2.0-0 (>= 2.28.0), libsecret-1-0 (>= 0.7)" "" \
  "docker credential helpers (lab build numbered 0.6.1)" /srv/repo/extra

# the credential-helper "release": a single binary, as upstream publishes 0.7+
helper_version=$(cd $B && upstream golang-docker-credential-helpers)
helper=/srv/repo/releases/v$helper_version/docker-credential-secretservice-v$helper_version.linux-$arch
mkdir -p "$(dirname "$helper")"
cp "$B/x-golang-docker-credential-helpers/usr/bin/docker-credential-secretservice" "$helper"

# one lab key signs both releases
export GNUPGHOME=/build/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "dockmove lab repository <lab@dockmove.invalid>" rsa3072 sign never
fpr=$(gpg --batch --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --yes --armor --export "$fpr" > "$root/gpg"
for codename in bookworm trixie; do
  d=$root/dists/$codename
  gpg --batch --yes --clearsign -o "$d/InRelease" "$d/Release"
  gpg --batch --yes -abs -o "$d/Release.gpg" "$d/Release"
done

json_lines() { sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' "$1" | paste -sd, -; }
cat > /srv/repo/lab.json <<JSON
{"fingerprint": "$fpr", "engine_version": "5:$engine-1~debian.13~trixie",
 "releases": {"bookworm": [$(json_lines "$root/dists/bookworm/NOTES")],
              "trixie": [$(json_lines "$root/dists/trixie/NOTES")]},
 "helper_path": "${helper#/srv/repo}", "helper_version": "$helper_version",
 "helper_sha256": "$(sha256sum "$helper" | cut -d' ' -f1)",
 "old_helper_deb": "/extra/golang-docker-credential-helpers_0.6.1+lab-1_$arch.deb"}
JSON
rm -f /etc/apt/sources.list.d/trixie.list
find /srv/repo -type f | sort
cat "$root"/dists/*/NOTES
