"""Shaping a lab host's link (tc, as root inside the host). Pure: scripts only.

Egress gets `netem rate R delay D` where the kernel has sch_netem; where it
has not (this sandbox's kernel: only tbf, htb, ingress and ifb), a tbf at the
same rate and no delay, and the script says so. Ingress is shaped too, through
an ifb device (ingress redirect, tbf on the ifb), so that data coming into the
host is held to the same rate. Each script prints one line per direction
saying what it applied.
"""
from __future__ import annotations

IFB = "bench-ifb0"


def shape_script(rate_mbit: int, delay_ms: int, dev: str = "eth0") -> str:
    rate = f"{int(rate_mbit)}mbit"
    tbf = f"tbf rate {rate} burst 256kb latency 100ms"
    netem = f"netem rate {rate}" + (f" delay {int(delay_ms)}ms" if delay_ms else "")
    return f"""set -eu
{unshape_script(dev)}
if tc qdisc add dev {dev} root {netem} 2>/dev/null; then
  echo "egress: {netem}"
else
  tc qdisc add dev {dev} root {tbf}
  echo "egress: {tbf} (no delay: this kernel has no sch_netem)"
fi
ip link add {IFB} type ifb
ip link set {IFB} up
tc qdisc add dev {dev} handle ffff: ingress
tc filter add dev {dev} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev {IFB}
tc qdisc add dev {IFB} root {tbf}
echo "ingress: {tbf} (via {IFB})"
"""


def unshape_script(dev: str = "eth0") -> str:
    return (f"tc qdisc del dev {dev} root 2>/dev/null || true\n"
            f"tc qdisc del dev {dev} ingress 2>/dev/null || true\n"
            f"ip link del {IFB} 2>/dev/null || true")
