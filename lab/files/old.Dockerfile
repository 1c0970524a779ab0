# The `old` host: Debian's own Docker (docker.io 20.10, containerd, runc and the
# distro credential helpers) and python3, as the seed's server had, plus the
# rootfs that becomes the seed's apache-test image.
ARG BASE
FROM $BASE
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      docker.io containerd runc golang-docker-credential-helpers python3 \
 && rm /usr/sbin/policy-rc.d \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY apache-rootfs.tar /opt/lab/apache-rootfs.tar
