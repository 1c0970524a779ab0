# A lab host of the newer release: Debian 13 (trixie) booted by systemd, with
# sshd, cron and journald as units, sudo, and the tools provisioning expects.
# No Docker here: `inv provision` brings Docker CE from the lab's repository.
ARG BASE
FROM $BASE
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      systemd systemd-sysv dbus cron openssh-server sudo ca-certificates curl gnupg \
      iproute2 iptables procps less xz-utils zstd python3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/ssh/ssh_host_* \
 && : > /etc/machine-id
# admin: passwordless sudo; ops: sudo with a password (see lab/config.py)
ARG OPS_PASSWORD
RUN useradd -m -s /bin/bash admin \
 && useradd -m -s /bin/bash ops \
 && echo "ops:${OPS_PASSWORD}" | chpasswd \
 && echo 'admin ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/admin \
 && echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/ops \
 && chmod 0440 /etc/sudoers.d/admin /etc/sudoers.d/ops
# Lab quirks: a container loads no kernel modules (the unit would fail and
# leave the system "degraded"); apt's daily timers would take the dpkg lock at
# random times in the middle of a test. Real hosts need none of this.
RUN systemctl mask systemd-modules-load.service apt-daily.timer apt-daily-upgrade.timer
COPY lab-boot /usr/local/sbin/lab-boot
# systemd's own way to stop; `systemctl reboot` ends PID 1 and the container's
# restart policy boots the host again
STOPSIGNAL SIGRTMIN+3
CMD ["/usr/local/sbin/lab-boot"]
