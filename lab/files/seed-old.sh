# The seed's scenario on `old`, run as root inside it by `inv lab.up`.
# Idempotent: what exists is kept (started again if stopped).
set -eu
if ! docker image inspect apache-test >/dev/null 2>&1; then
  docker import \
    --change 'ENV APACHE_RUN_USER www-data' \
    --change 'ENV APACHE_RUN_GROUP www-data' \
    --change 'ENV APACHE_PID_FILE /var/run/apache2.pid' \
    --change 'ENV APACHE_RUN_DIR /var/run/apache2' \
    --change 'ENV APACHE_LOG_DIR /var/log/apache2' \
    --change 'ENV APACHE_LOCK_DIR /var/lock/apache2' \
    --change 'ENV DEBCONF_NOWARNINGS yes' \
    --change 'EXPOSE 80' \
    --change 'CMD ["apachectl", "-D", "FOREGROUND"]' \
    /opt/lab/apache-rootfs.tar apache-test >/dev/null
fi
if ! docker container inspect apache-cont >/dev/null 2>&1; then
  docker run -p 9080:80 -d -h apache-host --name=apache-cont apache-test >/dev/null
  # Changed inside the container: only a commit carries this page along.
  docker exec apache-cont sh -c 'printf "%s\n" "<html><body><h1>Docker Custom Page</h1></body></html>" > /var/www/html/index.html'
else
  docker start apache-cont >/dev/null
fi
if ! docker volume inspect app-data >/dev/null 2>&1; then
  docker volume create --label lab.seed=app-data app-data >/dev/null
  docker run --rm -v app-data:/data apache-test sh -c '
    set -e
    printf "%s\n" "<html><body><h1>Volume Page</h1></body></html>" > /data/index.html
    mkdir -p /data/private /data/empty-dir
    printf "owned by www-data\n" > /data/private/note.txt
    chown -R 33:33 /data/private && chmod 0750 /data/private && chmod 0640 /data/private/note.txt
    ln -s index.html /data/link-to-index.html
    ln /data/index.html /data/hardlink-to-index.html'
fi
if ! docker container inspect data-cont >/dev/null 2>&1; then
  docker run -d --name data-cont -p 9081:80 -v app-data:/var/www/html apache-test >/dev/null
else
  docker start data-cont >/dev/null
fi
