import os
from pathlib import Path

import torch

# On a machine without CUDA (CI), Triton kernels run under the interpreter. This must be decided
# before any module imports triton (test collection imports every test module first).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The offline data: $JRT_DATA_DIR, else ../shared/data beside the repository (CI has it there)."""
    env = os.environ.get("JRT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for path in candidates:
        if (path / "tokenizers" / "gpt2").is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("offline data not found: set JRT_DATA_DIR or place shared/data beside the repo "
                    "(../shared/data from the repository root)")
    return path


@pytest.fixture(scope="session")
def recall_data_dir(data_dir) -> Path:
    return data_dir


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir(data_dir) -> Path:
    return data_dir / "tokenizers" / "gpt2"


@pytest.fixture(scope="session")
def gpt2_tokenizer_path(gpt2_tokenizer_dir) -> Path:
    return gpt2_tokenizer_dir


@pytest.fixture(scope="session")
def gpt2(gpt2_tokenizer_dir):
    """The GPT-2 tokenizer (session-scoped: loading it costs ~1 s)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gpt2_tokenizer_dir))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
