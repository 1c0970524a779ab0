# The root filesystem of the seed's apache-test image: Debian with apache2.
ARG BASE
FROM $BASE
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends apache2 \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
