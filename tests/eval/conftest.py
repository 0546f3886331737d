"""Fixtures of the recall-task tests: the offline data (skip with a reason when absent) and the
GPT-2 tokenizer from it (session-scoped: loading it costs ~1 s)."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _find_data_dir() -> Path | None:
    env = os.environ.get("JRT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for path in candidates:
        if (path / "tokenizers" / "gpt2").is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def recall_data_dir() -> Path:
    path = _find_data_dir()
    if path is None:
        pytest.skip("offline data not found: set JRT_DATA_DIR or place shared/data beside the repo "
                    "(../shared/data from the repository root)")
    return path


@pytest.fixture(scope="session")
def gpt2_tokenizer_path(recall_data_dir) -> Path:
    return recall_data_dir / "tokenizers" / "gpt2"


@pytest.fixture(scope="session")
def gpt2(gpt2_tokenizer_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gpt2_tokenizer_path))
