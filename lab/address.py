"""`python -m lab.address HOST`: the address of a lab host, from the lab's
inventory (for shell one-liners such as the README's)."""
import sys

from fleet.inventory import load_inventory


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lab.address HOST", file=sys.stderr)
        return 2
    inv = load_inventory()
    host = inv.hosts.get(argv[0])
    if host is None:
        print(f"no host {argv[0]!r} in {inv.path}", file=sys.stderr)
        return 2
    print(host.address)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
