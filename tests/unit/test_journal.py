"""The undo journal: the source first, then containers before what they use,
newest first within a kind; one that fails does not stop the others; a
refused change is dropped from it."""
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


def test_in_a_group_no_tag_is_taken_off_while_a_members_container_still_uses_it():
    # shop-db: its image and tag, its container; shop-web (same image): its tag, its
    # container. Newest first alone would take web's tag off while db's container runs
    # from it, which the engine refuses.
    there = {"container shop-db", "container shop-web", "tag apache-test", "image apache"}
    order = []

    def remove(what):
        def action():
            if what.startswith("tag") and any(t.startswith("container") for t in there):
                raise RuntimeError("conflict: a container is using its referenced image")
            there.discard(what)
            order.append(what)
        return action
    j = Journal()
    j.add("image", "image apache on new", remove("image apache"))
    j.add("tag", "tag apache-test on new", remove("tag apache-test"))
    j.add("container", "container shop-db on new", remove("container shop-db"))
    j.add("tag", "tag apache-test on new", remove("tag apache-test"))
    j.add("container", "container shop-web on new", remove("container shop-web"))
    assert j.undo(lambda line: None) == []
    assert order == ["container shop-web", "container shop-db", "tag apache-test",
                     "tag apache-test", "image apache"] and not there


def test_a_replaced_container_starts_again_only_once_the_data_copied_under_it_is_gone():
    done = []
    j = Journal()              # --replace: stop it, copy into its volume, rename it, create ours
    j.add("replaced", "web started again on new", lambda: done.append("started again"))
    j.add("contents", "what the copy put in volume v", lambda: done.append("emptied"))
    j.add("replaced", "web.replaced-1 back as web", lambda: done.append("renamed back"))
    j.add("container", "container web on new", lambda: done.append("removed"))
    j.undo(lambda line: None)
    assert done == ["removed", "emptied", "renamed back", "started again"]
