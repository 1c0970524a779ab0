"""The undo journal: the source first, then the rest newest first; one that
fails does not stop the others; a refused change is dropped from it."""
from migrate.journal import Journal


def test_the_source_comes_back_first_then_the_rest_newest_first():
    done, printed = [], []
    j = Journal()
    j.add("volume", "volume v on new", lambda: done.append("volume"))
    j.add("source", "web started again on old", lambda: done.append("source"))
    j.add("container", "container web on new", lambda: done.append("container"))

    def broken():
        raise RuntimeError("engine gone\nmore")
    j.add("network", "network n on new", broken)
    left = j.undo(printed.append)
    assert done == ["source", "container", "volume"]
    assert [e.what for e in left] == ["network n on new"]
    assert "  could not undo network n on new: engine gone" in printed
    assert j.entries == []


def test_a_refused_change_is_not_undone():
    done = []
    j = Journal()
    keep = j.add("container", "container a on new", lambda: done.append("a"))
    refused = j.add("container", "container b on new", lambda: done.append("b"))
    j.drop(refused)
    assert j.entries == [keep] and j.has("container", "container a on new")
    j.undo(lambda line: None)
    assert done == ["a"]
