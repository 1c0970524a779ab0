# The lab's stand-ins for what is out of reach here: Docker's apt repository
# (signed by a lab key; docker-ce & co. rebuilt from Debian 13's docker.io,
# docker-cli, containerd, runc, docker-buildx and docker-compose, with Docker's
# package names and relations, for bookworm and trixie) and a
# credential-helper release file. Served over HTTP by busybox httpd.
ARG BASE
FROM $BASE
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      busybox dpkg-dev apt-utils gnupg \
 && apt-get clean
COPY build-repo.sh /usr/local/sbin/build-repo.sh
RUN bash /usr/local/sbin/build-repo.sh && rm -rf /var/lib/apt/lists/* /build
CMD ["busybox", "httpd", "-f", "-v", "-p", "80", "-h", "/srv/repo"]
