"""What provision/ and migrate/ share: the inventory, SSH connections with
verified host keys, remote commands built from argument lists, errors with
exit codes, and runs over several hosts at once."""
