"""`inv provision`: bring a host to Docker CE. Facts first (read only), then a
plan (pure), then one executor that changes the host and prints each step."""
