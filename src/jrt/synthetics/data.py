"""Synthetic recall data: MQAR (Zoology style) and set disjointness (JRT paper, Figure 2).

Both generators are deterministic functions of (task config, split, seed) and return a
`SynthData`: a list of `Segment`s, each a block of equal-length examples (batches are drawn per
segment, so there is never any padding). Labels are aligned with the inputs: `labels[:, t]` is
the token the model must output *at* position t (-100 everywhere else), so the loss is a plain
cross-entropy of `logits[:, t]` against `labels[:, t]` with no shift.

JRT variants are deterministic transforms of the plain data (`apply_variant`), so they carry
exactly the same information as the plain input:

- `num_passes=p` (JRT-Prompt): the context part (MQAR: the key-value pairs; set disjointness:
  `[1] A [2] B`) is shown p times, then the rest of the example follows unchanged.
- `prefix=True` (JRT-RNN): the input is unchanged and the segment's `enc_length` is the length of
  the context part, i.e. the part the model reads non-causally.

Train and test examples come from disjoint random streams: the numpy seed of every segment is
`(seed, split id, segment index, generator version)` and `split_seed_entropy` asserts that no train
entropy tuple equals a test one. Base (plain) data is cached on disk as npz under a hash of its
config (`cache_dir` argument, else `$JRT_CACHE`, else `~/.cache/jrt/synthetics`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jrt import env

IGNORE_INDEX = -100
GENERATOR_VERSION = 1  # bump when the generated arrays change: invalidates every cache entry
SPLITS = {"train": 0, "test": 1}

# set disjointness special tokens (the paper's generator: mask, prefix, set separator, answer separator)
SD_MASK, SD_PREFIX, SD_SEP_SETS, SD_SEP_ANSWER = 0, 1, 2, 3
SD_FIRST_SET_TOKEN = 4


# ----------------------------------------------------------------------------------------------
# configs
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MQARSegment:
    """One block of MQAR examples: plain input length, number of key-value pairs, count."""

    seq_len: int
    num_kv_pairs: int
    num_examples: int


@dataclass(frozen=True)
class MQARTask:
    """Multi-query associative recall as in Zoology (`multiquery_ar`).

    Keys are drawn without replacement from [1, V/2), values from [V/2, V). The context is
    `k1 v1 k2 v2 ...` (2 * num_kv_pairs tokens); every key is queried once afterwards, at gaps drawn
    from a power law (p(gap) ~ gap^(power_a - 1), so most queries sit close to the context). The label
    at a query position is the key's value; all other labels are -100. Positions that are not
    queries hold random tokens (`random_non_queries`) or 0.
    """

    vocab_size: int = 8192
    train: tuple[MQARSegment, ...] = (MQARSegment(256, 16, 10_000),)
    test: tuple[MQARSegment, ...] = (MQARSegment(256, 16, 1_000),)
    power_a: float = 0.01
    random_non_queries: bool = True
    kind: str = "mqar"

    def segments(self, split: str) -> tuple[MQARSegment, ...]:
        return self.train if split == "train" else self.test


@dataclass(frozen=True)
class SDSegment:
    """One block of set-disjointness examples: |A|, |B|, count."""

    len_a: int
    len_b: int
    num_examples: int


PAPER_SD_TRAIN = tuple(
    SDSegment(a, b, 20_000)
    for a, b in [(4, 16), (16, 4), (8, 32), (32, 8), (64, 16), (16, 64), (4, 128), (128, 4),
                 (16, 256), (256, 16), (4, 256), (256, 4)]
)
PAPER_SD_TEST = tuple(
    SDSegment(a, b, 1_000)
    for a, b in [(1, 32), (32, 1), (4, 32), (32, 4), (4, 128), (128, 4), (16, 256), (256, 16),
                 (4, 256), (256, 4), (16, 512), (512, 16), (4, 512), (512, 4), (8, 768), (768, 8),
                 (16, 768), (768, 16), (4, 768), (768, 4)]
)


@dataclass(frozen=True)
class SetDisjointnessTask:
    """Set disjointness as the JRT paper (zoology `disjoint_sets`): `[1] A [2] B [3]` -> the shared token.

    A and B are disjoint uniform random subsets of tokens [4, V) (the paper draws A from one half
    and B from the other half of a random permutation: the same distribution), then one random A
    token overwrites a random position of B, so |A n B| = 1 exactly. The label is -100 everywhere
    except the last input position ([3]), whose label is the shared token.
    """

    vocab_size: int = 2048
    train: tuple[SDSegment, ...] = PAPER_SD_TRAIN
    test: tuple[SDSegment, ...] = PAPER_SD_TEST
    kind: str = "set_disjointness"

    def segments(self, split: str) -> tuple[SDSegment, ...]:
        return self.train if split == "train" else self.test


@dataclass(frozen=True)
class Variant:
    """How the model reads the context: `num_passes` copies of it (JRT-Prompt), or non-causally (JRT-RNN)."""

    num_passes: int = 1
    prefix: bool = False

    @property
    def label(self) -> str:
        parts = []
        if self.num_passes > 1:
            parts.append(f"JRT-Prompt x{self.num_passes}")
        if self.prefix:
            parts.append("prefix")
        return ", ".join(parts) if parts else "plain"


# ----------------------------------------------------------------------------------------------
# data containers
# ----------------------------------------------------------------------------------------------
@dataclass
class Segment:
    inputs: np.ndarray  # [N, T] int64
    labels: np.ndarray  # [N, T] int64, IGNORE_INDEX except at answer positions
    context_length: int  # length of the context part (the kv region / `[1] A [2] B`)
    meta: dict = field(default_factory=dict)  # slice description, e.g. {"num_kv_pairs": 16}
    enc_length: int = 0  # non-causal prefix length for JRT-RNN (0: fully causal)

    @property
    def num_examples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.inputs.shape[1])


@dataclass
class SynthData:
    segments: list[Segment]
    vocab_size: int

    @property
    def num_examples(self) -> int:
        return sum(s.num_examples for s in self.segments)

    @property
    def max_seq_len(self) -> int:
        return max(s.seq_len for s in self.segments)


# ----------------------------------------------------------------------------------------------
# seeds
# ----------------------------------------------------------------------------------------------
def split_seed_entropy(seed: int, split: str, segment_index: int) -> tuple[int, int, int, int]:
    """The numpy seed of one segment. Train and test streams differ in the split id."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    return (int(seed), SPLITS[split], int(segment_index), GENERATOR_VERSION)


def assert_disjoint_seeds(task, seed: int) -> None:
    train = {split_seed_entropy(seed, "train", i) for i in range(len(task.segments("train")))}
    test = {split_seed_entropy(seed, "test", i) for i in range(len(task.segments("test")))}
    overlap = train & test
    assert not overlap, f"train and test seeds overlap: {sorted(overlap)}"


# ----------------------------------------------------------------------------------------------
# generators (plain input)
# ----------------------------------------------------------------------------------------------
def _sample_distinct(rng: np.random.Generator, n: int, pool: int, k: int, chunk: int = 4096) -> np.ndarray:
    """[n, k] rows of k distinct values from range(pool), each row in uniformly random order."""
    if k > pool:
        raise ValueError(f"cannot draw {k} distinct tokens from a pool of {pool}")
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        keys = rng.random((stop - start, pool), dtype=np.float32)
        if k < pool:
            idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
        else:
            idx = np.broadcast_to(np.arange(pool), keys.shape).copy()
        order = np.argsort(np.take_along_axis(keys, idx, axis=1), axis=1)
        out[start:stop] = np.take_along_axis(idx, order, axis=1)
    return out


def _mqar_segment(seg: MQARSegment, task: MQARTask, rng: np.random.Generator) -> Segment:
    n, T, N, V = seg.num_examples, seg.seq_len, seg.num_kv_pairs, task.vocab_size
    context = 2 * N
    space = (T - context) // 2
    if V // 2 - 1 < N:
        raise ValueError(f"vocab_size {V} too small for {N} distinct keys")
    if space < N:
        raise ValueError(f"seq_len {T} too short for {N} kv pairs and {N} queries (needs >= {4 * N})")
    key_vocab = V // 2
    keys = 1 + _sample_distinct(rng, n, key_vocab - 1, N)  # [n, N] in [1, V/2)
    values = key_vocab + _sample_distinct(rng, n, V - key_vocab, N)  # [n, N] in [V/2, V)
    kvs = np.zeros((n, context), dtype=np.int64)
    kvs[:, 0::2] = keys
    kvs[:, 1::2] = values
    # query gaps: power law over slots 0..space-1, without replacement (Zoology)
    p = task.power_a * np.arange(1, space + 1, dtype=np.float64) ** (task.power_a - 1)
    p = p / p.sum()
    # Gumbel-top-k == sequential sampling without replacement with probabilities p
    g = np.log(p)[None, :] - np.log(-np.log(rng.random((n, space))))
    gaps = np.argsort(-g, axis=1)[:, :N]  # [n, N]
    queries = np.zeros((n, T - context + 1), dtype=np.int64)
    np.put_along_axis(queries, gaps * 2, keys, axis=1)
    examples = np.concatenate([kvs, queries], axis=1)  # [n, T + 1]
    labels = np.full((n, T + 1), IGNORE_INDEX, dtype=np.int64)
    np.put_along_axis(labels, gaps * 2 + context + 1, values, axis=1)
    inputs, labels = examples[:, :-1].copy(), labels[:, 1:].copy()
    if task.random_non_queries:
        fill = rng.integers(0, V, size=inputs.shape)
        zero = inputs == 0
        inputs[zero] = fill[zero]
    return Segment(inputs, labels, context, {"seq_len": T, "num_kv_pairs": N})


def _sd_segment(seg: SDSegment, task: SetDisjointnessTask, rng: np.random.Generator) -> Segment:
    n, a, b, V = seg.num_examples, seg.len_a, seg.len_b, task.vocab_size
    if a < 1 or b < 1:
        raise ValueError(f"set sizes must be >= 1, got |A|={a}, |B|={b}")
    pool = V - SD_FIRST_SET_TOKEN
    if a + b > pool:
        raise ValueError(f"|A|+|B| = {a + b} exceeds the {pool} set tokens of vocab_size {V}")
    tokens = SD_FIRST_SET_TOKEN + _sample_distinct(rng, n, pool, a + b)
    set_a, set_b = tokens[:, :a], tokens[:, a:].copy()
    rows = np.arange(n)
    shared = set_a[rows, rng.integers(0, a, size=n)]
    set_b[rows, rng.integers(0, b, size=n)] = shared
    col = lambda tok: np.full((n, 1), tok, dtype=np.int64)  # noqa: E731
    inputs = np.concatenate([col(SD_PREFIX), set_a, col(SD_SEP_SETS), set_b, col(SD_SEP_ANSWER)], axis=1)
    labels = np.full_like(inputs, IGNORE_INDEX)
    labels[:, -1] = shared
    order = "short_first" if a < b else ("long_first" if a > b else "equal")
    return Segment(inputs, labels, a + b + 2, {"len_a": a, "len_b": b, "order": order})


def _generate(task, split: str, seed: int) -> SynthData:
    segments = []
    for i, seg in enumerate(task.segments(split)):
        rng = np.random.default_rng(list(split_seed_entropy(seed, split, i)))
        if task.kind == "mqar":
            segments.append(_mqar_segment(seg, task, rng))
        elif task.kind == "set_disjointness":
            segments.append(_sd_segment(seg, task, rng))
        else:
            raise ValueError(f"unknown task kind {task.kind!r}")
    return SynthData(segments, task.vocab_size)


# ----------------------------------------------------------------------------------------------
# cache
# ----------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    cache = env.get("JRT_CACHE")
    return Path(cache) if cache else Path.home() / ".cache" / "jrt" / "synthetics"


def config_hash(task, split: str, seed: int) -> str:
    payload = {"task": dataclasses.asdict(task), "type": type(task).__name__, "split": split,
               "seed": int(seed), "version": GENERATOR_VERSION}
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _save(path: Path, data: SynthData) -> None:
    arrays = {}
    meta = []
    for i, s in enumerate(data.segments):
        arrays[f"inputs_{i}"] = s.inputs.astype(np.int32 if data.vocab_size < 2**31 else np.int64)
        arrays[f"labels_{i}"] = s.labels.astype(np.int32)
        meta.append({"context_length": s.context_length, "meta": s.meta})
    arrays["meta"] = np.frombuffer(json.dumps({"vocab_size": data.vocab_size, "segments": meta}).encode(), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: concurrent sweeps never read a half-written file


def _load(path: Path) -> SynthData:
    with np.load(path) as z:
        info = json.loads(z["meta"].tobytes().decode())
        segments = [
            Segment(z[f"inputs_{i}"].astype(np.int64), z[f"labels_{i}"].astype(np.int64),
                    m["context_length"], m["meta"])
            for i, m in enumerate(info["segments"])
        ]
    return SynthData(segments, info["vocab_size"])


def load_split(task, split: str, seed: int = 0, cache_dir: str | os.PathLike | None = None,
               use_cache: bool = True) -> SynthData:
    """The plain data of one split, generated or read from the npz cache."""
    assert_disjoint_seeds(task, seed)
    if not use_cache:
        return _generate(task, split, seed)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / f"{task.kind}-{split}-{config_hash(task, split, seed)}.npz"
    if path.exists():
        try:
            return _load(path)
        except Exception:  # corrupt entry: regenerate
            pass
    data = _generate(task, split, seed)
    try:
        _save(path, data)
    except OSError:
        pass  # read-only cache: still return the data
    return data


# ----------------------------------------------------------------------------------------------
# variants
# ----------------------------------------------------------------------------------------------
def apply_variant(data: SynthData, variant: Variant) -> SynthData:
    """JRT-Prompt (`num_passes`) and JRT-RNN (`prefix`) views of plain data (same information)."""
    if variant.num_passes < 1:
        raise ValueError(f"num_passes must be >= 1, got {variant.num_passes}")
    out = []
    for s in data.segments:
        c, p = s.context_length, variant.num_passes
        if p > 1:
            ctx = s.inputs[:, :c]
            inputs = np.concatenate([ctx] * p + [s.inputs[:, c:]], axis=1)
            pad = np.full((s.num_examples, (p - 1) * c), IGNORE_INDEX, dtype=s.labels.dtype)
            labels = np.concatenate([s.labels[:, :c], pad, s.labels[:, c:]], axis=1)
        else:
            inputs, labels = s.inputs, s.labels
        enc = p * c if variant.prefix else 0
        out.append(Segment(inputs, labels, p * c, dict(s.meta), enc_length=enc))
    return SynthData(out, data.vocab_size)


def load_data(task, variant: Variant = Variant(), split: str = "train", seed: int = 0,
              cache_dir: str | os.PathLike | None = None) -> SynthData:
    return apply_variant(load_split(task, split, seed, cache_dir), variant)


def slice_key(meta: dict) -> str:
    """A readable name for a test slice."""
    if "num_kv_pairs" in meta:
        return f"T{meta['seq_len']}_kv{meta['num_kv_pairs']}"
    return f"A{meta['len_a']}_B{meta['len_b']}"


def scale_segments(segments: Sequence, factor: float, minimum: int = 1) -> tuple:
    """The same mixture with `num_examples` scaled (for quick or large runs)."""
    return tuple(dataclasses.replace(s, num_examples=max(minimum, int(s.num_examples * factor))) for s in segments)
