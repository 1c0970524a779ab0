# `old` with the shop stack (`inv lab.up --stack`): Debian 12's docker-compose
# 1.29 (compose v1, Python), the root filesystem that seed-stack.sh imports as
# `shop-app:1`, and the project's files that it puts in /srv/shop.
ARG BASE
FROM $BASE
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold docker-compose \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY stack-rootfs.tar /opt/lab/stack-rootfs.tar
COPY shop-compose.yml /opt/lab/shop/docker-compose.yml
COPY shop.env /opt/lab/shop/.env
