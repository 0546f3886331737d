"""Fixtures of the training tests: a mini data root of real documents and a prepared data dir."""
from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import build_mini_root, shared_data_dir


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    p = shared_data_dir()
    if p is None:
        pytest.skip("offline data not found: set JRT_DATA_DIR or place shared/data beside the repo")
    return p


@pytest.fixture(scope="session")
def tokenizer_dir(real_data_dir) -> Path:
    return real_data_dir / "tokenizers" / "gpt2"


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


