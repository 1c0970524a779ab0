#!/bin/bash
# Builds /srv/repo: a stand-in for download.docker.com (linux/debian) and for
# a docker-credential-helpers release, from Debian's own packages.
# Writes /srv/repo/lab.json with what the lab's inventory needs.
set -euo pipefail
arch=$(dpkg --print-architecture)
codename=bookworm
root=/srv/repo/linux/debian
pool=$root/dists/$codename/pool/stable/$arch
mkdir -p /build "$pool" "$root/dists/$codename/stable/binary-$arch" /srv/repo/releases /srv/repo/extra
cd /build
apt-get download -q docker.io containerd runc golang-docker-credential-helpers
for deb in *.deb; do dpkg-deb -R "$deb" "x-${deb%%_*}"; done

upstream() { dpkg-deb -f "$1"_*.deb Version | sed -E 's/^[0-9]+://; s/[+~-].*//'; }
engine_version="5:$(upstream docker.io)-1~debian.12~$codename"
containerd_version="$(upstream containerd)-1"
maint="dockmove lab <lab@dockmove.invalid>"

# control FILE: rewrite a package's control, keeping Installed-Size honest
control() {  # dir package version depends extra-fields description
  local dir=$1 pkg=$2 version=$3 depends=$4 extra=$5 desc=$6
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
  dpkg-deb --root-owner-group -Zgzip -b "$dir" "$pool/${pkg}_${version#*:}_$arch.deb" >/dev/null
}

# containerd.io = containerd + runc
mkdir -p p-containerd.io
cp -a x-containerd/. p-containerd.io/
tar -C x-runc --exclude=./DEBIAN -cf - . | tar -C p-containerd.io -xf -
rm -f p-containerd.io/DEBIAN/{postinst,prerm,postrm,preinst}
control p-containerd.io containerd.io "$containerd_version" "libc6 (>= 2.34), libseccomp2 (>= 2.5.0)" \
  "Provides: containerd, runc
Conflicts: containerd, runc
Replaces: containerd, runc" "An open and reliable container runtime"

# docker-ce-cli = the client of docker.io
mkdir -p p-cli/DEBIAN p-cli/usr/bin p-cli/usr/share
mv x-docker.io/usr/bin/docker p-cli/usr/bin/docker
for d in bash-completion fish man; do
  [ -e "x-docker.io/usr/share/$d" ] && mv "x-docker.io/usr/share/$d" p-cli/usr/share/
done
control p-cli docker-ce-cli "$engine_version" "libc6 (>= 2.34)" \
  "Conflicts: docker (<< 1.5~), docker-engine, docker.io
Replaces: docker-ce (<< 5:0), docker-engine, docker-engine-cs" "Docker CLI: the open-source application container engine"

# docker-ce = the rest of docker.io (engine, init script, units)
rm -rf x-docker.io/usr/share/doc/docker.io x-docker.io/usr/share/lintian
control x-docker.io docker-ce "$engine_version" \
  "containerd.io (>= 1.6), docker-ce-cli, iptables, adduser, tini, lsb-base, libc6 (>= 2.34), libdevmapper1.02.1 (>= 2:1.02.97), libsystemd0" \
  "Recommends: ca-certificates, git, xz-utils
Conflicts: docker (<< 1.5~), docker-engine, docker.io
Replaces: docker-engine" "Docker: the open-source application container engine"

# the CLI plugins: tiny stand-ins that answer the plugin protocol
plugin() {  # package command version
  local dir=p-$1
  mkdir -p "$dir/DEBIAN" "$dir/usr/libexec/docker/cli-plugins"
  cat > "$dir/usr/libexec/docker/cli-plugins/docker-$2" <<PLUGIN
#!/bin/sh
if [ "\$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"dockmove lab","Version":"v$3","ShortDescription":"stand-in for docker $2"}'
  exit 0
fi
echo "docker $2 v$3 (dockmove lab stand-in)"
PLUGIN
  chmod 0755 "$dir/usr/libexec/docker/cli-plugins/docker-$2"
  control "$dir" "$1" "$3-1~debian.12~$codename" "" "" "Docker $2 plugin (stand-in)"
}
plugin docker-buildx-plugin buildx 0.11.2
plugin docker-compose-plugin compose 2.21.0

# An old, broken-numbered credential helper (0.6.1 is in the range that
# aborts docker build) for tests of its replacement; not in the apt index.
cp -a x-golang-docker-credential-helpers p-helper-old
control p-helper-old golang-docker-credential-helpers "0.6.1+lab-1" \
  "libc6 (>= 2.34), libglib2.0-0 (>= 2.28.0), libsecret-1-0 (>= 0.7)" "" "docker credential helpers (lab build numbered 0.6.1)"
mv "$pool/golang-docker-credential-helpers_0.6.1+lab-1_$arch.deb" /srv/repo/extra/

# the credential-helper "release": a single binary, as upstream publishes 0.7+
helper_version=$(upstream golang-docker-credential-helpers)
helper=/srv/repo/releases/v$helper_version/docker-credential-secretservice-v$helper_version.linux-$arch
mkdir -p "$(dirname "$helper")"
cp x-golang-docker-credential-helpers/usr/bin/docker-credential-secretservice "$helper"

# the index, signed by a fresh lab key
cd "$root"
apt-ftparchive packages "dists/$codename/pool/stable/$arch" > "dists/$codename/stable/binary-$arch/Packages"
gzip -k9 "dists/$codename/stable/binary-$arch/Packages"
apt-ftparchive -o APT::FTPArchive::Release::Origin=Docker \
  -o APT::FTPArchive::Release::Label=Docker \
  -o APT::FTPArchive::Release::Suite="$codename" \
  -o APT::FTPArchive::Release::Codename="$codename" \
  -o APT::FTPArchive::Release::Architectures="$arch" \
  -o APT::FTPArchive::Release::Components=stable \
  release "dists/$codename" > /tmp/Release
mv /tmp/Release "dists/$codename/Release"
export GNUPGHOME=/build/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "dockmove lab repository <lab@dockmove.invalid>" rsa3072 sign never
fpr=$(gpg --batch --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
gpg --batch --yes --armor --export "$fpr" > "$root/gpg"
gpg --batch --yes --clearsign -o "dists/$codename/InRelease" "dists/$codename/Release"
gpg --batch --yes -abs -o "dists/$codename/Release.gpg" "dists/$codename/Release"

cat > /srv/repo/lab.json <<JSON
{"fingerprint": "$fpr", "engine_version": "$engine_version",
 "helper_path": "${helper#/srv/repo}", "helper_version": "$helper_version",
 "helper_sha256": "$(sha256sum "$helper" | cut -d' ' -f1)",
 "old_helper_deb": "/extra/golang-docker-credential-helpers_0.6.1+lab-1_$arch.deb"}
JSON
find /srv/repo -type f | sort
