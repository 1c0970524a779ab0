"""Shell scripts, run as root inside lab hosts, that make the benchmark's
images and containers on `old` and clear them from the target. Pure: they
only build text; values are quoted with shlex.quote.

Images are made on `old` itself (there is no registry): a tiny base holding
/bin/sleep and its libraries (so an image's size is its data), then one layer
of data added with `docker cp` + `docker commit`: random bytes (does not
compress) or `seq` text (gzip -1 makes it about 27% of its size).
"""
from __future__ import annotations

from shlex import quote

BASE = "bench-base"
KINDS = ("random", "text")
APACHE = "bench-apache"          # the seed's apache-cont, committed, with a volume
APACHE_PORT = 9180


def image_tag(kind: str, mib: int, on: str = BASE) -> str:
    return f"bench-{kind}-{mib}m" + ("" if on == BASE else f"-on-{on}")


def container_name(image: str) -> str:
    return f"c-{image}"


def base_script() -> str:
    return f"""set -eu
if ! docker image inspect {BASE} >/dev/null 2>&1; then
  d=$(mktemp -d)
  mkdir -p "$d/bin"
  cp /usr/bin/sleep "$d/bin/sleep"
  for lib in $(ldd /usr/bin/sleep | awk '/=>/ {{print $3}} /ld-linux/ {{print $1}}'); do
    cp --parents -L "$lib" "$d/"
  done
  tar -C "$d" -c . | docker import -c 'CMD ["/bin/sleep", "infinity"]' - {BASE} >/dev/null
  rm -rf "$d"
fi"""


TOOLS = "bench-tools"
TOOL_PROGRAMS = ("/bin/sh", "/usr/bin/od", "/usr/bin/dd", "/usr/bin/head", "/usr/bin/sleep")


def tools_script() -> str:
    """bench-tools: a shell, od, dd, head and sleep from the host (where no
    seed image is, the fast pair), with their libraries."""
    progs = " ".join(TOOL_PROGRAMS)
    return f"""set -eu
if ! docker image inspect {TOOLS} >/dev/null 2>&1; then
  d=$(mktemp -d)
  for p in {progs}; do
    mkdir -p "$d$(dirname "$p")" && cp -L "$p" "$d$p"
    for lib in $(ldd "$p" | awk '/=>/ {{print $3}} /ld-linux/ {{print $1}}'); do
      cp --parents -L "$lib" "$d/"
    done
  done
  mkdir -p "$d/bin" && ln -sf /usr/bin/od /usr/bin/dd /usr/bin/head /usr/bin/sleep "$d/bin/"
  tar -C "$d" -c . | docker import -c 'CMD ["/bin/sh"]' - {TOOLS} >/dev/null
  rm -rf "$d"
fi"""


def data_command(kind: str, mib: int, path: str) -> str:
    if kind == "random":
        return f"head -c {mib}M /dev/urandom > {quote(path)}"
    if kind == "text":
        return f"seq 1 2000000000 | head -c {mib}M > {quote(path)}"
    raise ValueError(f"data kind {kind!r}: expected one of {', '.join(KINDS)}")


def data_image_script(kind: str, mib: int, on: str = BASE) -> str:
    """An image `on` + one layer of `mib` MiB of `kind` data; kept if it exists."""
    tag = image_tag(kind, mib, on)
    blob = f"/var/tmp/{tag}.data"
    return f"""set -eu
if ! docker image inspect {quote(tag)} >/dev/null 2>&1; then
  {data_command(kind, mib, blob)}
  docker rm -f bench-mk >/dev/null 2>&1 || true
  docker create --name bench-mk {quote(on)} >/dev/null
  docker cp {quote(blob)} bench-mk:/{quote(tag)}.data
  docker commit bench-mk {quote(tag)} >/dev/null
  docker rm bench-mk >/dev/null
  rm -f {quote(blob)}
fi"""


def run_args(image: str) -> list[str]:
    """`docker run` arguments of the benchmark's container of `image`."""
    return ["-d", "--stop-signal", "KILL", "--name", container_name(image), image]


def container_script(image: str) -> str:
    """A running container of `image` on the source, for `inv migrate`. Its
    stop signal is KILL: sleep as PID 1 ignores TERM, and every stop would
    wait docker's 10 s for nothing."""
    name = quote(container_name(image))
    return f"""set -eu
docker container inspect {name} >/dev/null 2>&1 || \
  docker run {" ".join(map(quote, run_args(image)))} >/dev/null
docker start {name} >/dev/null"""


def apache_script(volume_mib: int) -> str:
    """bench-apache: the seed's apache-cont committed (its page comes along),
    with `volume_mib` MiB of random files in a volume, published on
    APACHE_PORT. Made again when the volume size asked for changes."""
    vol = f"{APACHE}-data"
    label = f"bench.volume_mib={volume_mib}"
    return f"""set -eu
if [ "$(docker inspect -f '{{{{index .Config.Labels "bench.volume_mib"}}}}' {APACHE} 2>/dev/null)" != "{volume_mib}" ]; then
  docker rm -f {APACHE} >/dev/null 2>&1 || true
  docker volume rm {vol} >/dev/null 2>&1 || true
fi
docker image inspect {APACHE} >/dev/null 2>&1 || docker commit apache-cont {APACHE} >/dev/null
if ! docker volume inspect {vol} >/dev/null 2>&1; then
  docker volume create {vol} >/dev/null
  docker run --rm -v {vol}:/srv/data {APACHE} sh -c \\
    'head -c {volume_mib}M /dev/urandom | split -b 10M - /srv/data/blob-'
fi
docker container inspect {APACHE} >/dev/null 2>&1 || docker run -d --name {APACHE} \\
  --label {quote(label)} -h apache-host -p {APACHE_PORT}:80 -v {vol}:/srv/data {APACHE} >/dev/null
docker start {APACHE} >/dev/null"""


def clear_target_script(keep: tuple[str, ...] = ()) -> str:
    """On the target: remove the benchmark's containers and volumes, and every
    image but `keep` (repo:tag), so that the next run finds nothing there."""
    grep = " ".join(f"-e {quote(k)}" for k in keep)
    images = "docker images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>'"
    if keep:
        images += f" | grep -vxF {grep}"
    return f"""set -u
docker ps -aq --filter name=c-bench- --filter name={APACHE} | xargs -r docker rm -f >/dev/null
{images} | xargs -r docker rmi -f >/dev/null 2>&1
docker image prune -f >/dev/null
docker volume ls -q --filter name={APACHE} --filter name=c-bench- | xargs -r docker volume rm >/dev/null
true"""


# --- the lab's compose stack (`inv lab.up --stack`): project shop on old ------

STACK_PROJECT = "shop"
STACK_DIR = "/srv/shop"
STACK_CONTAINERS = ("shop_db_1", "shop_web_1")     # compose 1.x names, in start order
STACK_VOLUMES = ("shop_dbdata",)
STACK_NETWORKS = ("shop_default",)
STACK_IMAGE = "shop-app:1"
STACK_PORT = 9090
STACK_POLICY = "unless-stopped"                    # `restart:` in its compose file


def stack_source_script() -> str:
    """On the source: the stack running as seeded. A cut-over leaves both
    containers stopped with restart policy `no`; put back what compose set,
    then `docker-compose up -d` starts them as compose does (db healthy
    before web: its depends_on), recreating nothing."""
    names = " ".join(STACK_CONTAINERS)
    return f"""set -eu
docker update --restart {STACK_POLICY} {names} >/dev/null
cd {STACK_DIR}
out=$(docker-compose up -d 2>&1) || {{ printf '%s\\n' "$out" >&2; exit 1; }}
for c in {names}; do
  [ "$(docker inspect -f '{{{{.State.Running}}}} {{{{.HostConfig.RestartPolicy.Name}}}}' "$c")" \\
    = "true {STACK_POLICY}" ] || {{ echo "$c: not running with restart {STACK_POLICY}" >&2; exit 1; }}
done"""


def stack_clear_script() -> str:
    """On the target: nothing of the stack left from an earlier run (its
    containers, volume, network and project folder), the image kept. Fails
    when something is still there."""
    names = " ".join(STACK_CONTAINERS)
    volumes = " ".join(STACK_VOLUMES)
    networks = " ".join(STACK_NETWORKS)
    return f"""set -u
docker rm -f {names} >/dev/null 2>&1
docker ps -aq --filter label=com.docker.compose.project={STACK_PROJECT} | xargs -r docker rm -f >/dev/null
docker volume rm {volumes} >/dev/null 2>&1
docker network rm {networks} >/dev/null 2>&1
rm -rf {STACK_DIR}
left=""
for c in {names}; do docker container inspect "$c" >/dev/null 2>&1 && left="$left container $c"; done
for v in {volumes}; do docker volume inspect "$v" >/dev/null 2>&1 && left="$left volume $v"; done
for n in {networks}; do docker network inspect "$n" >/dev/null 2>&1 && left="$left network $n"; done
[ -e {STACK_DIR} ] && left="$left {STACK_DIR}"
[ -z "$left" ] || {{ echo "still on the target:$left" >&2; exit 1; }}
true"""
