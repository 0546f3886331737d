"""Fixtures of the training tests: a mini data root of real documents and a prepared data dir.

The documents come from the repository (tests/fixtures/train_root), or from the full data root in
$JRT_DATA_DIR when it is set; either way a few of each source, held-out ones included.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import build_mini_root, train_source_root


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    return train_source_root()


@pytest.fixture(scope="session")
def tokenizer_dir(real_data_dir, gpt2_tokenizer_dir) -> Path:
    full = real_data_dir / "tokenizers" / "gpt2"
    return full if full.is_dir() else gpt2_tokenizer_dir   # the fixture's GPT-2: the same ids


@pytest.fixture(scope="session")
def mini_root(real_data_dir, tmp_path_factory):
    dst = tmp_path_factory.mktemp("mini_root")
    held = build_mini_root(real_data_dir, dst)
    return dst, held


@pytest.fixture(scope="session")
def prepared(mini_root, tokenizer_dir, tmp_path_factory):
    """A prepared data dir with a 50% recall mixture (built once)."""
    from jrt.train.data import prepare_data

    root, held = mini_root
    out = tmp_path_factory.mktemp("prepared") / "data"
    manifest = prepare_data(out, tokenizer_dir, data_root=root, recall_fraction=0.5,
                            recall_context_lengths=[300], val_fraction=0.05, progress=False)
    return out, manifest, held


