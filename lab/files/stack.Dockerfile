# The root filesystem of the shop stack's image (`shop-app:1` on `old`): Debian
# 12's PostgreSQL 15 and python3-psycopg2, the database's entry script and the
# web app. One image for both services (their commands differ).
ARG BASE
FROM $BASE
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      postgresql-15 python3-psycopg2 \
 && rm -rf /var/lib/postgresql/15 /etc/postgresql/15 /usr/sbin/policy-rc.d \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY shop-db shop-web /usr/local/bin/
