"""Migration records: one typed reader with one rule for "finished", used by
`inv verify-port` and `inv migrate --rollback` alike; rollback refuses what it
cannot do before any host is asked."""
import json

import pytest

from fleet.errors import UsageError
from migrate.records import last_finished, read_record
from migrate.rollback import RollbackError, restart_value, rollback


def _record(folder, name, **fields):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"container": "web", "source": "old",
                                           "target": "new", **fields}))


def test_only_a_finished_migration_of_that_container_counts(tmp_path):
    records = tmp_path / "records"
    assert last_finished(records, "web") is None
    with pytest.raises(UsageError, match=f"no finished migration of 'web' on record in {records}/"):
        rollback(None, "web", records, write=lambda line: None)
    _record(records, "20260101000000-web.json", outcome="failed")
    _record(records, "20260102000000-web.json", outcome="done", target_name="web2")
    _record(records, "20260103000000-web.json", outcome="interrupted")
    rec = last_finished(records, "web")
    assert rec.path.name == "20260102000000-web.json" and rec.target_name == "web2"


def test_a_killed_run_without_an_outcome_is_not_finished_for_any_reader(tmp_path):
    """It used to count as finished for verify-port (its default host and its
    "as before" answer) but not for rollback."""
    records = tmp_path / "records"
    _record(records, "20260101000000-web.json", outcome="done", target="new")
    _record(records, "20260102000000-db.json", container="db", target="other")   # killed
    assert not read_record(records / "20260102000000-db.json").finished
    assert last_finished(records).container == "web"
    assert last_finished(records, rolled_back=False).target == "new"
    _record(records, "20260103000000-web.json", outcome="done", target="third",
            rolled_back="2026-01-03T00:00:00Z")
    assert last_finished(records).target == "third"
    assert last_finished(records, rolled_back=False).target == "new"


def test_a_source_removed_after_the_migration_cannot_be_gone_back_to(tmp_path):
    records = tmp_path / "records"
    _record(records, "20260102000000-web.json", outcome="done", source_removed=True)
    with pytest.raises(RollbackError, match=r"web was removed from old after the migration "
                                            r"\(--remove-source\): there is nothing to go back to"):
        rollback(None, "web", records, write=lambda line: None)
    _record(records, "20260103000000-web.json", outcome="done", source_autoremoved=True)
    with pytest.raises(RollbackError, match=r"web ran with --rm on old: its stop after the "
                                            r"verified migration removed it there"):
        rollback(None, "web", records, write=lambda line: None)


def test_restart_policies_render_for_docker_update():
    assert restart_value({"Name": "always", "MaximumRetryCount": 0}) == "always"
    assert restart_value({"Name": "on-failure", "MaximumRetryCount": 3}) == "on-failure:3"
    assert restart_value({"Name": "", "MaximumRetryCount": 0}) == "no"


def test_a_record_is_never_written_over_another_runs(tmp_path):
    from fleet.errors import MigrateError
    from migrate.records import new_record
    first = new_record(tmp_path, "20261130120000", "web", source="old", target="new",
                       target_name="web")
    first.update(outcome="done")
    with pytest.raises(MigrateError, match="started in the same second"):
        new_record(tmp_path, "20261130120000", "web", source="old", target="other",
                   target_name="web")
    rec = read_record(first.path)
    assert rec.target == "new" and rec.finished and rec.version == 2
    assert oct(first.path.stat().st_mode & 0o777) == "0o600"


def test_a_version_1_record_reads_the_same(tmp_path):
    (tmp_path / "20260101000000-web.json").write_text(json.dumps(
        {"created": "20260101000000", "container": "web", "source": "old", "target": "new",
         "outcome": "done", "baseline": None, "container_inspect": None,
         "answered_before": ["80/tcp"], "run_argv": ["docker", "run"]}))
    rec = last_finished(tmp_path, "web")
    assert rec.version == 1 and rec.baseline == {} and rec.answered_before == ("80/tcp",)
    assert rec.target_name == "web" and rec.run_argv == ("docker", "run")


def test_a_projects_moved_containers_are_found_by_their_records(tmp_path):
    from migrate.records import project_moved
    records = tmp_path / "records"
    shop = {"Config": {"Labels": {"com.docker.compose.project": "shop"}}}
    _record(records, "20260101000000-db.json", container="db", outcome="done",
            container_inspect=shop)
    _record(records, "20260101000000-web.json", container="web", outcome="done",
            container_inspect=shop)
    _record(records, "20260101000000-else.json", container="else", outcome="done",
            container_inspect={"Config": {"Labels": {"com.docker.compose.project": "x"}}})
    _record(records, "20260102000000-web.json", container="web", outcome="failed",
            container_inspect=shop)
    assert project_moved(records, "shop") == ("db", "web")
    _record(records, "20260103000000-db.json", container="db", outcome="done",
            container_inspect=shop, rolled_back="2026-01-03T00:00:00Z")
    assert project_moved(records, "shop") == ("web",)
    assert project_moved(tmp_path / "none", "shop") == ()
    _record(records, "20260104000000-db.json", container="db", outcome="done", source="b",
            container_inspect=shop)
    assert project_moved(records, "shop") == ("the compose project 'shop' was moved from "
                                              "several hosts (b, old): say which with --from")
    assert project_moved(records, "shop", "b") == ("db",)
