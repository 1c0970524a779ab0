"""`inv migrate NAME --rollback` refuses what it cannot do, before any host is
asked: no finished migration on record, or a source removed after it."""
import json

import pytest

from fleet.errors import UsageError
from migrate.rollback import RollbackError, last_finished, rollback


def _record(folder, name, **fields):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"container": "web", "source": "old",
                                           "target": "new", **fields}))


def test_only_a_finished_migration_of_that_container_counts(tmp_path):
    records = tmp_path / "records"
    with pytest.raises(UsageError, match=f"no finished migration of 'web' on record in {records}/"):
        last_finished(records, "web")
    _record(records, "20260101000000-web.json", outcome="failed")
    _record(records, "20260102000000-web.json", outcome="done", target_name="web2")
    _record(records, "20260103000000-web.json", outcome="interrupted")
    path, rec = last_finished(records, "web")
    assert path.name == "20260102000000-web.json" and rec["target_name"] == "web2"


def test_a_source_removed_after_the_migration_cannot_be_gone_back_to(tmp_path):
    records = tmp_path / "records"
    _record(records, "20260102000000-web.json", outcome="done", source_removed=True)
    with pytest.raises(RollbackError, match=r"web was removed from old after the migration "
                                            r"\(--remove-source\): there is nothing to go back to"):
        rollback(None, "web", records, write=lambda line: None)
