"""dockmove's benchmarks (issue 7): the tool against the plain shell pipeline,
on a lab of their own. Run by hand: `.venv/bin/python -m bench.run --all`
(see the README's Benchmarks section).

Layout, one job per module:
- run: the entry point (argv -> settings -> scenarios -> table and files)
- settings: sizes, repetitions, which scenarios (pure)
- scenarios/: transfer (full, incremental, slowlink), downtime,
  provisioning (provision, fanout); common setup for them
- measure: alternating the sides of a case, counting bytes on the wire
- model, stats, report, readme: cases and samples, medians and ratios,
  targets, the table and the files (pure)
- lab, tool, raw, poller, shell: the edges (docker exec into lab hosts,
  `inv` tasks, the ssh pipeline, HTTP polling, subprocesses)
- images, link: the shell scripts run inside lab hosts (pure text)
"""
