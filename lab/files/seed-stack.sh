# The shop stack on `old` (`inv lab.up --stack`), run as root inside it after
# seed-old.sh. Idempotent: the image is imported, the project's files put in
# /srv/shop and the rows inserted only once; `docker-compose up -d` starts
# what is not running and leaves the rest.
set -eu
PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if ! docker image inspect shop-app:1 >/dev/null 2>&1; then
  docker import --change "ENV PATH $PATH" --change 'EXPOSE 8000 5432' \
    --change 'CMD ["python3", "/usr/local/bin/shop-web"]' \
    /opt/lab/stack-rootfs.tar shop-app:1 >/dev/null
fi
mkdir -p /srv/shop
[ -e /srv/shop/docker-compose.yml ] || cp /opt/lab/shop/docker-compose.yml /srv/shop/
[ -e /srv/shop/.env ] || install -m 0600 /opt/lab/shop/.env /srv/shop/.env
cd /srv/shop
out=$(docker-compose up -d 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
db=$(docker-compose ps -q db)
health=
for _ in $(seq 300); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$db")
  [ "$health" = healthy ] && break
  sleep 0.2
done
if [ "$health" != healthy ]; then
  echo "shop: db is $health after 60 s; its log:" >&2
  docker logs --tail 20 "$db" >&2
  exit 1
fi
psql() { docker exec -i "$db" psql -q -v ON_ERROR_STOP=1 -U shop -d shop "$@"; }
if [ "$(psql -tAc 'SELECT count(*) FROM items')" = 0 ]; then
  psql -c "INSERT INTO items (item) VALUES ('apples'), ('pears'), ('plums')"
fi
