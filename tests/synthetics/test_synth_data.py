"""Generators: answerable targets, disjoint seeds, variants with the same information, labels, cache."""
import numpy as np
import pytest

from jrt.synthetics import data as D
from jrt.synthetics.data import (
    IGNORE_INDEX,
    MQARSegment,
    MQARTask,
    SDSegment,
    SetDisjointnessTask,
    Variant,
    apply_variant,
    assert_disjoint_seeds,
    load_split,
    split_seed_entropy,
)

MQAR = MQARTask(vocab_size=128, train=(MQARSegment(64, 8, 64), MQARSegment(96, 16, 32)),
                test=(MQARSegment(64, 8, 32), MQARSegment(128, 24, 16)))
SD = SetDisjointnessTask(train=(SDSegment(4, 16, 32), SDSegment(16, 4, 32), SDSegment(1, 1, 8)),
                         test=(SDSegment(1, 32, 16), SDSegment(32, 1, 16), SDSegment(64, 8, 8)))


def _mqar_check_row(inputs, labels, context, num_kv):
    """Every labelled position is answerable from the context; labels sit only at query positions."""
    kv = inputs[:context]
    keys, values = kv[0::2], kv[1::2]
    assert len(set(keys.tolist())) == num_kv, "keys are distinct"
    assert np.all(keys < 64) and np.all(keys >= 1) and np.all(values >= 64)
    answer_pos = np.flatnonzero(labels != IGNORE_INDEX)
    assert np.all(labels[:context] == IGNORE_INDEX), "no label inside the context"
    assert len(answer_pos) == num_kv, "each key is queried exactly once"
    queried = []
    for t in answer_pos:
        key = inputs[t]
        (j,) = np.flatnonzero(keys == key)  # the query token is a key of the context, exactly once
        assert labels[t] == values[j], "the label is that key's value"
        queried.append(key)
    assert sorted(queried) == sorted(keys.tolist())


@pytest.mark.parametrize("split", ["train", "test"])
def test_mqar_targets_answerable_and_labels_only_at_answers(split):
    data = load_split(MQAR, split, seed=3, use_cache=False)
    for seg, cfg in zip(data.segments, MQAR.segments(split)):
        assert seg.inputs.shape == seg.labels.shape == (cfg.num_examples, cfg.seq_len)
        assert seg.context_length == 2 * cfg.num_kv_pairs
        for x, y in zip(seg.inputs, seg.labels):
            _mqar_check_row(x, y, seg.context_length, cfg.num_kv_pairs)


def _sd_parse(row):
    assert row[0] == D.SD_PREFIX and row[-1] == D.SD_SEP_ANSWER
    (sep,) = np.flatnonzero(row == D.SD_SEP_SETS)
    return row[1:sep], row[sep + 1:-1]


@pytest.mark.parametrize("split", ["train", "test"])
def test_set_disjointness_target_is_the_one_shared_token(split):
    data = load_split(SD, split, seed=0, use_cache=False)
    for seg, cfg in zip(data.segments, SD.segments(split)):
        assert seg.inputs.shape[1] == cfg.len_a + cfg.len_b + 3
        assert seg.meta["order"] == ("short_first" if cfg.len_a < cfg.len_b else
                                     "long_first" if cfg.len_a > cfg.len_b else "equal")
        for x, y in zip(seg.inputs, seg.labels):
            a, b = _sd_parse(x)
            assert len(a) == cfg.len_a and len(b) == cfg.len_b
            assert len(set(a.tolist())) == len(a) and len(set(b.tolist())) == len(b)
            assert np.all(a >= 4) and np.all(b >= 4) and np.all(x < SD.vocab_size)
            shared = set(a.tolist()) & set(b.tolist())
            assert shared == {int(y[-1])}, "exactly one shared token, and it is the target"
            assert np.all(y[:-1] == IGNORE_INDEX), "label only at the answer position"


def test_train_test_seeds_never_overlap():
    for task in (MQAR, SD):
        assert_disjoint_seeds(task, 0)
    for seed in range(5):
        train = {split_seed_entropy(seed, "train", i) for i in range(50)}
        for other in range(5):
            test = {split_seed_entropy(other, "test", i) for i in range(50)}
            assert not train & test
    # and no example is shared between the splits (same segment shapes in both)
    task = MQARTask(vocab_size=64, train=(MQARSegment(32, 4, 400),), test=(MQARSegment(32, 4, 400),))
    tr = load_split(task, "train", 0, use_cache=False).segments[0].inputs
    te = load_split(task, "test", 0, use_cache=False).segments[0].inputs
    assert not {r.tobytes() for r in tr} & {r.tobytes() for r in te}
    # while the same split and seed is reproducible
    assert np.array_equal(tr, load_split(task, "train", 0, use_cache=False).segments[0].inputs)


@pytest.mark.parametrize("task", [MQAR, SD], ids=["mqar", "sd"])
@pytest.mark.parametrize("passes", [2, 3])
def test_repeated_variant_carries_exactly_the_plain_information(task, passes):
    plain = load_split(task, "train", 1, use_cache=False)
    rep = apply_variant(plain, Variant(num_passes=passes))
    for p, r in zip(plain.segments, rep.segments):
        c = p.context_length
        assert r.context_length == passes * c and r.enc_length == 0
        assert r.seq_len == p.seq_len + (passes - 1) * c
        for i in range(passes):  # the context, repeated verbatim
            assert np.array_equal(r.inputs[:, i * c:(i + 1) * c], p.inputs[:, :c])
        assert np.array_equal(r.inputs[:, passes * c:], p.inputs[:, c:])  # then the rest, unchanged
        assert np.all(r.labels[:, :passes * c] == IGNORE_INDEX)
        assert np.array_equal(r.labels[:, passes * c:], p.labels[:, c:])  # same answers, same queries
        # undoing the repetition gives back the plain input exactly
        assert np.array_equal(np.concatenate([r.inputs[:, :c], r.inputs[:, passes * c:]], 1), p.inputs)


@pytest.mark.parametrize("task", [MQAR, SD], ids=["mqar", "sd"])
def test_prefix_variant_is_the_plain_input_with_the_context_as_prefix(task):
    plain = load_split(task, "test", 1, use_cache=False)
    pre = apply_variant(plain, Variant(prefix=True))
    for p, r in zip(plain.segments, pre.segments):
        assert np.array_equal(p.inputs, r.inputs) and np.array_equal(p.labels, r.labels)
        assert r.enc_length == p.context_length
        assert np.all(r.labels[:, :r.enc_length] == IGNORE_INDEX), "no answer inside the non-causal prefix"
    both = apply_variant(plain, Variant(num_passes=2, prefix=True))
    assert all(s.enc_length == 2 * p.context_length for s, p in zip(both.segments, plain.segments))


def test_mqar_query_gaps_follow_a_power_law():
    task = MQARTask(vocab_size=512, train=(MQARSegment(512, 8, 400),), test=MQAR.test)
    seg = load_split(task, "train", 0, use_cache=False).segments[0]
    pos = np.flatnonzero(seg.labels.reshape(-1) != IGNORE_INDEX) % 512 - 16
    near, far = np.sum(pos < 64), np.sum(pos >= 448)
    assert near > 3 * far  # most queries sit close to the context


def test_cache_hit_returns_identical_arrays(tmp_path, monkeypatch):
    first = load_split(MQAR, "train", 7, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and D.config_hash(MQAR, "train", 7) in files[0].name

    def boom(*a, **k):
        raise AssertionError("cache miss: regenerated")

    monkeypatch.setattr(D, "_generate", boom)
    second = load_split(MQAR, "train", 7, cache_dir=tmp_path)
    for a, b in zip(first.segments, second.segments):
        assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.labels, b.labels)
        assert a.inputs.dtype == b.inputs.dtype == np.int64
        assert a.context_length == b.context_length and a.meta == b.meta
    # a different config or seed is a different cache entry
    assert D.config_hash(MQAR, "train", 7) != D.config_hash(MQAR, "train", 8)
    assert D.config_hash(MQAR, "train", 7) != D.config_hash(MQAR, "test", 7)


def test_cache_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("JRT_CACHE", str(tmp_path / "c"))
    load_split(SD, "test", 0)
    assert list((tmp_path / "c").glob("set_disjointness-test-*.npz"))


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="too short"):
        load_split(MQARTask(64, train=(MQARSegment(16, 8, 2),)), "train", use_cache=False)
    with pytest.raises(ValueError, match="exceeds"):
        load_split(SetDisjointnessTask(16, train=(SDSegment(8, 8, 2),)), "train", use_cache=False)
    with pytest.raises(ValueError):
        apply_variant(load_split(SD, "test", use_cache=False), Variant(num_passes=0))
