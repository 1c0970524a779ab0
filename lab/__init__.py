"""The local lab: real Debian hosts as system containers on this machine's
Docker engine, each with its own sshd, dockerd and dpkg, for trying and testing
every task. `lab.lab` has up/status/down; the other modules one job each."""
