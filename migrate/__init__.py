"""`inv migrate`: record a container's `docker run` arguments, carry its image
(and, in later work, its volumes) to another host, and run it there again."""
