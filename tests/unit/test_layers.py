"""Layer skipping: chain ids, the legacy v1 ids of a real `docker save`
(recorded from a 20.10 engine), and the tar filter over real pipes."""
import hashlib
import io
import json
import os
import tarfile
import threading
from pathlib import Path

import pytest

from migrate.layers import Selector, chain_ids, chains_of_images, legacy_v1_ids, plan_layers
from migrate.tarfilter import TarFormatError, filter_tar

SAVE = json.loads((Path(__file__).parent / "data/save/docker-20.10.json").read_text())
DIRS = [l.split("/")[0] for l in SAVE["manifest"]["Layers"]]


def test_chain_ids_follow_the_oci_definition():
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    expected = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_ids([a, b]) == [a, expected]
    assert chains_of_images([{"RootFS": {"Layers": [a, b]}}, {"RootFS": {}}]) == {a, expected}


def test_each_saved_layer_directory_is_recognised_as_its_own_layer_only():
    chains = chain_ids(SAVE["diff_ids"])
    for i, d in enumerate(DIRS):
        body = SAVE["layer_json"][d].encode()
        assert [j for j, c in enumerate(chains) if d in legacy_v1_ids(body, c)] == [i]


def test_plan_counts_the_prefix_the_target_has_and_never_skips_repeated_layers():
    diffs = SAVE["diff_ids"]
    chains = chain_ids(diffs)
    plan = plan_layers(diffs, set(chains[:3]) | {chains[5]})   # a gap: 5 is useless alone
    assert plan.present == 3
    assert plan.skippable == frozenset(chains[:3])
    empty = "sha256:" + "e" * 64
    twice = plan_layers([empty, diffs[1], empty], set(chain_ids([empty, diffs[1], empty])))
    assert twice.skippable == frozenset(chain_ids([empty, diffs[1]])[1:2])


def _save_tar(layers: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in sorted(DIRS):
            for name, data in (("VERSION", b"1.0"), ("json", SAVE["layer_json"][d].encode()),
                               ("layer.tar", layers[d])):
                info = tarfile.TarInfo(f"{d}/{name}")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        long = tarfile.TarInfo("x" * 150 + "/a name with ünïcode")   # pax path record
        long.size = 3
        t.addfile(long, io.BytesIO(b"abc"))
        man = json.dumps([SAVE["manifest"]]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(man)
        t.addfile(info, io.BytesIO(man))
    return buf.getvalue()


def _through_pipes(data: bytes, policy) -> tuple[bytes, object]:
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    got: list[bytes] = []

    def feed():
        with os.fdopen(w1, "wb") as f:
            f.write(data)

    def drain():
        with os.fdopen(r2, "rb") as f:
            got.append(f.read())
    threads = [threading.Thread(target=feed), threading.Thread(target=drain)]
    for t in threads:
        t.start()
    try:
        counts = filter_tar(r1, w2, policy)
    finally:
        os.close(r1)
        os.close(w2)
        for t in threads:
            t.join()
    return got[0], counts


def test_the_filter_leaves_out_exactly_the_layers_the_target_has():
    layers = {d: os.urandom(1000 + 700 * i) for i, d in enumerate(DIRS)}
    data = _save_tar(layers)
    chains = chain_ids(SAVE["diff_ids"])
    out, counts = _through_pipes(data, Selector(plan_layers(SAVE["diff_ids"], set(chains[:5]))))
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        names = t.getnames()
        for i, d in enumerate(DIRS):
            assert f"{d}/json" in names
            if i < 5:
                assert f"{d}/layer.tar" not in names
            else:
                assert t.extractfile(f"{d}/layer.tar").read() == layers[d]
        assert t.extractfile("x" * 150 + "/a name with ünïcode").read() == b"abc"
        assert "manifest.json" in names
    assert counts.skipped_members == 5
    assert counts.read == len(data)
    assert counts.written == len(out) == len(data) - counts.skipped_bytes


def test_nothing_to_skip_passes_the_stream_byte_for_byte():
    data = _save_tar({d: os.urandom(3000) for d in DIRS})
    out, counts = _through_pipes(data, Selector(plan_layers(SAVE["diff_ids"], set())))
    assert out == data and counts.skipped_members == 0


def test_oci_layout_blobs_are_left_out_by_diff_id():
    diffs = SAVE["diff_ids"][:2]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for d in diffs:
            info = tarfile.TarInfo("blobs/sha256/" + d.removeprefix("sha256:"))
            info.size = 5
            t.addfile(info, io.BytesIO(b"12345"))
    out, counts = _through_pipes(buf.getvalue(), Selector(plan_layers(diffs, {diffs[0]})))
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        assert t.getnames() == ["blobs/sha256/" + diffs[1].removeprefix("sha256:")]


def test_a_stream_cut_inside_a_member_is_an_error():
    data = _save_tar({d: os.urandom(5000) for d in DIRS})
    with pytest.raises(TarFormatError):
        _through_pipes(data[:2048 + 700], Selector(plan_layers(SAVE["diff_ids"], set())))


def test_the_filter_runs_as_a_program_on_the_source_with_the_same_result():
    import subprocess
    from migrate import remote_filter
    layers = {d: os.urandom(2000 + i) for i, d in enumerate(DIRS)}
    data = _save_tar(layers)
    plan = plan_layers(SAVE["diff_ids"], set(chain_ids(SAVE["diff_ids"])[:4]))
    expected, _ = _through_pipes(data, Selector(plan))
    ran = subprocess.run(["sh", "-c", remote_filter.command(plan)], input=data,
                         capture_output=True, check=True)
    assert ran.stdout == expected and len(expected) < len(data)
    assert b"left out 4 layer(s)" in ran.stderr


# --- whether leaving layers out pays (issue 18: the break-even) -----------------

MIB = 1 << 20
A, B, C = ("sha256:" + ch * 64 for ch in "abc")


def test_a_small_base_layer_under_a_big_image_is_not_worth_the_filter():
    from migrate.layers import filter_pays
    # the case: 300 MiB sent to leave out a 2 MiB base layer
    assert not filter_pays(2 * MIB)
    assert filter_pays(30 * MIB)
    assert filter_pays(None)                       # unknown: leave out (worst case is its start)
    assert filter_pays(1, start=0.0)               # on the way through here: no start to pay


def test_the_break_even_is_the_filters_start_on_the_fastest_link():
    from migrate.layers import FAST_LINK_MIB_S, FILTER_START_S, filter_pays
    even = FILTER_START_S * FAST_LINK_MIB_S                       # MiB
    assert 3.4 <= even <= 3.6                                     # "3.5 MiB" in the comment
    assert not filter_pays(int((even - 0.05) * MIB))
    assert filter_pays(int((even + 0.05) * MIB))


def test_left_out_bytes_are_known_only_from_an_image_topped_by_the_deepest_one():
    from migrate.layers import left_out_bytes
    chains = chain_ids([A, B, C])
    plan = plan_layers([A, B, C], set(chains[:2]))
    assert left_out_bytes(plan, {chains[0]: 5, chains[1]: 70}) == 70
    # a redeploy: new has app:v1 = [base, deps, code-v1] and the base image;
    # only the base's size is known, and it would understate base + deps
    assert left_out_bytes(plan, {chains[0]: 5}) is None
    assert left_out_bytes(plan, {chains[2]: 99}) is None        # not left out: not counted
    assert left_out_bytes(plan, {}) is None
    assert left_out_bytes(plan_layers([A, B], set()), {chains[0]: 5}) is None


def test_the_targets_images_give_their_chains_and_sizes():
    from migrate.transfer import parse_layer_chains
    chains = chain_ids([A, B])
    text = (f'2097152 {json.dumps([A])}\n'
            f'316669952 {json.dumps([A, B])}\n'
            '0 null\n\n')
    have, sizes = parse_layer_chains(text)
    assert have == set(chains)
    assert sizes == {chains[0]: 2097152, chains[1]: 316669952}


def test_the_plan_sends_every_layer_when_leaving_them_out_does_not_pay():
    from migrate.transfer import choose_layers
    chains = chain_ids([A, B])
    small = {chains[0]: 2 * MIB}
    plan, why = choose_layers([A, B], frozenset(chains[:1]), small,
                              compressed=False, at_source=True)
    assert plan is None
    assert why.format(target="new", source="old", compress="none") == (
        "the 1 layer(s) new has (2.0 MiB) take less time to send than the filter that would "
        "leave them out takes to start on old: sending every layer")
    # on the way through this machine the filter has no start to pay: left out
    plan, why = choose_layers([A, B], frozenset(chains[:1]), small,
                              compressed=False, at_source=False)
    assert plan is not None and plan.skippable == {chains[0]} and why == ""
    big = {chains[0]: 290 * MIB}
    plan, why = choose_layers([A, B], frozenset(chains[:1]), big,
                              compressed=False, at_source=True)
    assert plan is not None and plan.skippable == {chains[0]} and why == ""
    plan, why = choose_layers([A, B], frozenset(), big, compressed=False,
                              at_source=True)
    assert plan is None and why == ""                          # nothing there to leave out
    plan, why = choose_layers([A, B], None, big, compressed=False, at_source=True)
    assert plan is None and "containerd" in why
