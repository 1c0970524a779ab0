"""Tests of the benchmark's pure parts (statistics, targets, the scripts it
runs in lab hosts, the README splice, its settings), in the default test run;
the benchmarks themselves run by hand (bench/)."""
import unittest

from bench import images, link, readme, report
from bench.model import Case, Side, Target, evaluate, summarize
from bench.scenarios import stack
from bench.settings import from_args
from bench.stats import downtime, median, ratio, schedule, step_times


class Stats(unittest.TestCase):
    def test_median_skips_missing_values(self):
        self.assertEqual(median([3, None, 1, 2]), 2)
        self.assertEqual(median([4, 1]), 2.5)
        self.assertIsNone(median([None]))

    def test_ratio(self):
        self.assertEqual(ratio(3, 2), 1.5)
        self.assertIsNone(ratio(1, 0))
        self.assertIsNone(ratio(None, 2))

    def test_schedule_alternates_and_rotates(self):
        self.assertEqual(schedule(["a", "b"], 3),
                         [(0, "a"), (0, "b"), (1, "b"), (1, "a"), (2, "a"), (2, "b")])
        order = [label for _, label in schedule(["a", "b", "c"], 3)]
        self.assertEqual(order, list("abc" "bca" "cab"))

    def test_downtime_from_last_source_answer_to_first_target_answer(self):
        events = [(0.0, "source", True), (0.1, "target", False), (1.0, "source", True),
                  (1.1, "source", False), (2.0, "target", False), (3.5, "target", True),
                  (3.6, "target", True)]
        self.assertAlmostEqual(downtime(events), 2.5)

    def test_no_downtime_when_the_source_never_stops(self):
        events = [(0.0, "target", True), (1.0, "source", True)]
        self.assertIsNone(downtime(events))

    def test_step_times(self):
        out = ("migrate: x\n[1/7] record: /r.json (mode 0600)\n"
               "[3/7] stream: sent 30 MiB; image id sha256:ab on both hosts (12.5s)\n"
               "    30 MiB, 10 MiB/s in 3.0s\n[5/7] container: c created and started (0.4s)\n")
        self.assertEqual(step_times(out), {"stream": 12.5, "container": 0.4})
        now = ("migrate: [2] image (source running): sent 32.1 MiB for an image of 32.1 MiB (2.0s)\n"
               "migrate: [5] stop: c stopped on old (10.2s)\n"
               "migrate: [6] image (changes since): sent 0 B (0.3s)\n")
        self.assertEqual(step_times(now), {"image (source running)": 2.0, "stop": 10.2,
                                           "image (changes since)": 0.3})

    def test_step_times_of_a_group_add_up_its_members_steps(self):
        out = ("migrate: order: shop_db_1 -> shop_web_1 (each starts after what it needs)\n"
               "migrate: [1] project files: /srv/shop/.env copied to new (10.0 KiB) (0.3s)\n"
               "migrate: [6] compose: shop_db_1: compose on new takes it as its own (1.2s)\n"
               "migrate: [15] shop_web_1: stop: shop_web_1 stopped on old; its answer (0.6s)\n"
               "migrate: [16] shop_db_1:  stop: shop_db_1 stopped on old (0.3s)\n"
               "migrate: [23] shop_db_1:  verify: running; no published TCP port (0.5s)\n"
               "migrate: [25] settled: shop_db_1 running, healthy, no restart in 3s (3.0s)\n")
        steps = step_times(out)
        self.assertEqual(set(steps), {"project files", "compose", "stop", "verify", "settled"})
        self.assertAlmostEqual(steps["stop"], 0.9)


class Targets(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(evaluate(Target("max_ratio", 1.1, ""), 11, 1.05, 1)[0], True)
        self.assertEqual(evaluate(Target("max_ratio", 1.1, ""), 12, 1.2, 1)[0], False)
        self.assertEqual(evaluate(Target("bytes_share", 0.1, ""), 5, 0.55, 0.5)[0], True)
        self.assertEqual(evaluate(Target("bytes_share", 0.1, ""), 5, 0.9, 0.5)[0], False)
        self.assertEqual(evaluate(Target("max_value", 10, "", per_host=8), 72, None, None),
                         (True, "9.00s per host"))
        self.assertEqual(evaluate(Target("max_ratio", 1.1, ""), 1, None, None)[0], None)
        # a known share (what the target lacks) wins over the measured bytes
        self.assertEqual(evaluate(Target("bytes_share", 0.1, "", share=0.1), 5, 0.9, 0.1),
                         (False, "time 0.90x, at best 0.10x"))

    def test_bytes_ratio_is_the_busier_links(self):
        case = Case("incremental", "x", baseline="raw", sides=[
            Side("raw", samples=[{"seconds": 2, "out_bytes": 100, "in_bytes": 100}]),
            Side("tool", samples=[{"seconds": 2, "out_bytes": 100, "in_bytes": 10}])])
        self.assertEqual(summarize(case)[1].bytes_ratio, 1.0)

    def test_summary_uses_medians_and_the_baseline(self):
        case = Case("full", "random 30 MiB", baseline="raw", payload_bytes=30 << 20, sides=[
            Side("raw", samples=[{"seconds": 2.0, "out_bytes": 100}, {"seconds": 4.0, "out_bytes": 100},
                                 {"seconds": 3.0, "out_bytes": 100}]),
            Side("dockmove", Target("max_ratio", 1.1, "<= 1.1x"),
                 samples=[{"seconds": 3.6, "out_bytes": 50}, {"error": "boom"},
                          {"seconds": 3.0, "out_bytes": 50}])])
        raw, tool = summarize(case)
        self.assertEqual((raw.seconds, raw.ratio, raw.mib_per_s), (3.0, None, 10.0))
        self.assertEqual((tool.n, tool.failed, tool.seconds), (2, 1, 3.3))
        self.assertAlmostEqual(tool.ratio, 1.1)
        self.assertEqual(tool.bytes_ratio, 0.5)
        self.assertTrue(tool.met)
        text = report.table([case])
        self.assertIn("2+1F", text)
        self.assertIn("1.10x", text)

    def test_a_side_with_only_failures_shows_why(self):
        case = Case("downtime", "x", baseline="offline", metric="downtime_s", sides=[
            Side("offline", samples=[{"error": "RuntimeError: no --offline"}]),
            Side("cut-over", Target("max_value", 5, "< 5 s"), samples=[{"seconds": 9, "downtime_s": 1.5}])])
        rows = report.rows([case])
        self.assertTrue(rows[0][-1].startswith("FAILED"))
        self.assertTrue(rows[1][-1].startswith("yes"))


class Scripts(unittest.TestCase):
    def test_tags_and_data(self):
        self.assertEqual(images.image_tag("text", 30), "bench-text-30m")
        self.assertEqual(images.image_tag("random", 3, on="bench-random-30m"),
                         "bench-random-3m-on-bench-random-30m")
        self.assertIn("/dev/urandom", images.data_command("random", 5, "/tmp/x"))
        with self.assertRaises(ValueError):
            images.data_command("zeros", 5, "/tmp/x")

    def test_clear_target_keeps_what_it_is_told(self):
        text = images.clear_target_script(("bench-random-30m:latest",))
        self.assertIn("grep -vxF -e bench-random-30m:latest", text)

    def test_shaping_falls_back_to_tbf_and_shapes_ingress(self):
        text = link.shape_script(100, 20)
        self.assertIn("netem rate 100mbit delay 20ms", text)
        self.assertIn("tbf rate 100mbit", text)
        self.assertIn("mirred egress redirect dev bench-ifb0", text)


class Stack(unittest.TestCase):
    def test_one_by_one_is_one_sample_of_both_runs(self):
        db = {"seconds": 9.0, "steps": {"stop": 0.5, "verify": 3.2}, "tool_downtime_s": 4.1,
              "report": {"container": "shop_db_1", "downtime_s": 4.1, "image_sent_bytes": 0}}
        web = {"seconds": 7.0, "steps": {"stop": 0.2, "start": 0.3}, "tool_downtime_s": 3.5,
               "report": {"container": "shop_web_1", "downtime_s": 3.5, "image_sent_bytes": 5}}
        s = stack.sequence([db, web])
        self.assertEqual(s["seconds"], 16.0)
        self.assertEqual(s["steps"], {"stop": 0.7, "verify": 3.2, "start": 0.3})
        self.assertEqual(s["member_downtime_s"], {"shop_db_1": 4.1, "shop_web_1": 3.5})
        self.assertNotIn("tool_downtime_s", s)       # no run saw the stack's whole outage
        self.assertEqual(stack.image_sent(s), 5)

    def test_a_groups_image_bytes_are_its_members(self):
        sample = {"report": {"downtime_s": 2.0, "members": [
            {"container": "shop_db_1", "image_sent_bytes": 0},
            {"container": "shop_web_1", "image_sent_bytes": 7}]}}
        self.assertEqual(stack.image_sent(sample), 7)
        self.assertEqual(stack.image_sent({"seconds": 1}), 0)

    def test_the_tools_own_downtimes_in_a_note(self):
        case = Case("stack", "shop", baseline=stack.ONE_BY_ONE, metric="downtime_s", sides=[
            Side(stack.ONE_BY_ONE, samples=[
                {"downtime_s": 12, "member_downtime_s": {"shop_db_1": 4.0, "shop_web_1": 3.0}},
                {"error": "boom"}]),
            Side(stack.GROUP, stack.TARGET, samples=[
                {"downtime_s": 3, "tool_downtime_s": 2.5}, {"downtime_s": 5, "tool_downtime_s": 3.5}])])
        note = stack.own_downtime_note(case)
        self.assertIn("one by one: shop_db_1 4.00s, shop_web_1 3.00s, each run its own", note)
        self.assertIn("group 3.00s for the group", note)
        group = summarize(case)[1]
        self.assertEqual((group.ratio, group.met), (4 / 12, True))
        self.assertIsNone(stack.own_downtime_note(Case("stack", "x", [Side("a")])))

    def test_scripts_put_the_source_back_and_clear_only_the_stack_on_the_target(self):
        source = images.stack_source_script()
        self.assertIn("docker update --restart unless-stopped shop_db_1 shop_web_1", source)
        self.assertIn("cd /srv/shop", source)
        self.assertIn("docker-compose up -d", source)
        clear = images.stack_clear_script()
        for what in ("docker rm -f shop_db_1 shop_web_1", "docker volume rm shop_dbdata",
                     "docker network rm shop_default", "rm -rf /srv/shop"):
            self.assertIn(what, clear)
        self.assertNotIn("rmi", clear)               # shop-app:1 stays on new
        self.assertIn("still on the target", clear)


class Readme(unittest.TestCase):
    def test_splice_replaces_only_between_the_markers(self):
        text = f"# x\n## Benchmarks\n{readme.START}\nold table\n{readme.END}\nafter\n"
        out = readme.splice(text, "| new |\n")
        self.assertEqual(out, f"# x\n## Benchmarks\n{readme.START}\n| new |\n{readme.END}\nafter\n")
        with self.assertRaises(ValueError):
            readme.splice("no markers", "t")


class Settings(unittest.TestCase):
    def test_smoke_and_overrides(self):
        s = from_args(["--smoke"])
        self.assertEqual((s.reps, s.nodes, s.mib(300)), (1, 2, 6))
        s = from_args(["full", "--scale", "0.1", "--reps", "2"])
        self.assertEqual((s.scenarios, s.reps, s.mib(1024)), (("full",), 2, 102))

    def test_the_stack_is_a_scenario_of_all_and_of_smoke(self):
        self.assertIn("stack", from_args(["--all"]).scenarios)
        self.assertIn("stack", from_args(["--smoke"]).scenarios)
        self.assertEqual(from_args(["--smoke", "stack"]).scenarios, ("stack",))

    def test_the_data_file_case_is_a_scenario_with_its_size(self):
        self.assertEqual(from_args(["--all"]).scenarios[-1], "dbfile")
        self.assertEqual(from_args(["dbfile", "--db-mib", "64"]).db_mib, 64)
        self.assertEqual(from_args(["--smoke", "dbfile"]).mib(1024), 20)

    def test_the_data_file_writer_stays_inside_its_file(self):
        from bench.scenarios.dbfile import writer
        self.assertIn("[ -e /data/db ] || { head -c 67108864 /dev/urandom > /data/db;", writer(64))
        self.assertIn("% 16384 ))", writer(64))         # 64 MiB of 4 KiB pages

    def test_every_scenario_has_a_run(self):
        from bench.run import RUNS
        from bench.settings import SCENARIOS
        self.assertEqual(set(RUNS), set(SCENARIOS))


if __name__ == "__main__":
    unittest.main()


class FastPair(unittest.TestCase):
    """bench/fastpair.py: two network namespaces with their own dockerd and
    sshd beside the lab (issue 18). Its scripts are pure text."""

    def test_pairs_and_what_runs_where(self):
        self.assertEqual(from_args(["--all"]).pairs, ("lab", "fast"))
        s = from_args(["--all", "--pair", "fast"])
        self.assertEqual(s.pairs, ("fast",))
        self.assertEqual(s.scenarios_for("fast"), ("full", "incremental", "filter", "dbfile"))
        self.assertNotIn("provision", s.scenarios_for("fast"))      # apt on this machine
        from bench.scenarios import dbfile
        self.assertEqual(dbfile.sides_for("fast"), ["blocks"])      # this machine's python3 stays
        self.assertEqual(dbfile.sides_for("lab"), ["whole files", "blocks"])
        self.assertEqual(s.scenarios_for("lab"), s.scenarios)
        with self.assertRaises(SystemExit):
            from_args(["--all", "--pair", "elsewhere"])

    def test_the_engines_never_touch_this_machines_own(self):
        from bench import fastpair
        old, new = (fastpair.dockerd_argv(fastpair.ADDRS[h]) for h in ("old", "new"))
        for argv in (old, new):
            text = " ".join(argv)
            self.assertNotIn("/var/lib/docker ", text + " ")
            self.assertNotIn("/var/run/docker.sock", text)
            self.assertNotIn("/run/docker.sock", text)
            self.assertIn("--iptables=false", argv)
        paths = lambda argv: {argv[i + 1] for i, a in enumerate(argv)
                              if a in ("--data-root", "--exec-root", "--pidfile", "-H",
                                       "--cgroup-parent", "--bip")}
        self.assertFalse(paths(old) & paths(new))

    def test_sshd_takes_only_keys_and_gives_the_engines_socket(self):
        from pathlib import Path
        from bench import fastpair
        a = fastpair.ADDRS["new"]
        text = fastpair.sshd_config_text(a, Path("/k"))
        self.assertIn("PasswordAuthentication no", text)
        self.assertIn(f"ListenAddress {a.inner}", text)
        self.assertIn(f"SetEnv DOCKER_HOST={a.socket} PATH=/usr/sbin:/usr/bin:/sbin:/bin", text)

    def test_down_kills_only_by_its_pid_files_and_unmounts_before_removing(self):
        from bench import fastpair
        text = fastpair.down_script()
        self.assertNotIn("pkill", text)
        self.assertNotIn("killall", text)
        self.assertIn('kill "$pid"', text)
        # a stale pid file's number may be another process of this machine's now
        for host in ("old", "new"):
            self.assertIn(f'/proc/"$pid"/cmdline 2>/dev/null | grep -qF /run/dockmove-fast/{host}/',
                          text)
        self.assertLess(text.index("umount"), text.index("rm -rf /var/lib/dockmove-fast"))
        self.assertLess(text.index("kill \"$pid\""), text.index("ip netns del"))

    def test_the_inventory_is_one_the_tool_reads(self):
        import tempfile
        from pathlib import Path
        import yaml
        from bench import fastpair
        from fleet.inventory import load_inventory
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "hosts.yaml"
            path.write_text(yaml.safe_dump(fastpair.inventory_data(Path(d))))
            inv = load_inventory(path)
        self.assertEqual(inv.hosts["old"].address, "10.213.0.2")
        self.assertEqual(inv.hosts["new"].user, "root")

    def test_the_table_and_csv_say_where_a_case_ran(self):
        case = Case("full", "random 300 MiB", [Side("raw")], baseline="raw", pair="fast")
        case.sides[0].samples.append({"seconds": 1.0})
        self.assertEqual(report.rows([case])[0][:3], ["full", "fast", "random 300 MiB"])
        self.assertIn("full,fast,random 300 MiB,raw", report.csv_text([case]))

    def test_the_header_names_each_pairs_engines_and_only_those_measured(self):
        only_fast = report.markdown([], {"fast_docker_old": "20.10.24", "fast_docker_new": "20.10.24"},
                                    {"reps": 3})
        self.assertIn("; fast pair: Docker 20.10.24 on old and 20.10.24 on new;", only_fast)
        self.assertNotIn("lab:", only_fast)
        both = report.markdown([], {"docker_old": "20.10.24", "docker_new": "26.1.5",
                                    "fast_docker_old": "20.10.24"}, {"reps": 3})
        self.assertIn("lab: Docker 20.10.24 on old and 26.1.5 on new; fast pair: Docker 20.10.24 "
                      "on old and ? on new;", both)
