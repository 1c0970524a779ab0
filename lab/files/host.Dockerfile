# A lab host: Debian with sshd, sudo and the tools provisioning expects.
# Built on the debootstrap rootfs; no Docker here (that is the `new` host).
ARG BASE
FROM $BASE
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      openssh-server sudo ca-certificates curl gnupg lsb-release iproute2 iptables \
      procps less xz-utils zstd \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/ssh/ssh_host_*
# admin: passwordless sudo; ops: sudo with a password (see lab/config.py)
ARG OPS_PASSWORD
RUN useradd -m -s /bin/bash admin \
 && useradd -m -s /bin/bash ops \
 && echo "ops:${OPS_PASSWORD}" | chpasswd \
 && echo 'admin ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/admin \
 && echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/ops \
 && chmod 0440 /etc/sudoers.d/admin /etc/sudoers.d/ops
COPY docker-default /etc/default/docker
COPY lab-init /usr/local/sbin/lab-init
# No systemd here: a reboot ends PID 1, and the restart policy brings the host back.
RUN printf '#!/bin/sh\n# lab host: reboot = restart of this container\nkill -TERM 1\n' \
      > /usr/local/sbin/reboot && chmod 0755 /usr/local/sbin/reboot
CMD ["/usr/local/sbin/lab-init"]
