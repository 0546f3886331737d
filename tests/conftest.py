import os
from pathlib import Path

import torch

# On a machine without CUDA (CI), Triton kernels run under the interpreter. This must be decided
# before any module imports triton (test collection imports every test module first).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURE_DATA = FIXTURES / "data"   # the full data layout, a few rows per file (< 1 MB with fixtures/hub)
FIXTURE_HUB = FIXTURES / "hub"     # hub-schema rows: <hub>/hazyresearch/<dataset>/validation.jsonl


def materialize_gpt2(dst: Path) -> Path:
    """Write a loadable GPT-2 tokenizer folder into ``dst`` from the gzipped fixture files.

    The fixture keeps ``vocab.json`` and ``merges.txt`` gzipped (byte-identical to the release)
    and ``tokenizer.json`` without its vocabulary and merges; both are filled back in here, so
    ``AutoTokenizer.from_pretrained(dst)`` gives the same ids as the full tokenizer folder.
    """
    import gzip
    import json

    src = FIXTURE_DATA / "tokenizers" / "gpt2"
    dst.mkdir(parents=True, exist_ok=True)
    vocab_text = gzip.decompress((src / "vocab.json.gz").read_bytes()).decode("utf-8")
    merges_text = gzip.decompress((src / "merges.txt.gz").read_bytes()).decode("utf-8")
    (dst / "vocab.json").write_text(vocab_text, encoding="utf-8")
    (dst / "merges.txt").write_text(merges_text, encoding="utf-8")
    full = json.loads((src / "tokenizer_skeleton.json").read_text(encoding="utf-8"))
    full["model"]["vocab"] = json.loads(vocab_text)
    full["model"]["merges"] = [line.split(" ") for line in merges_text.splitlines()[1:] if line]
    (dst / "tokenizer.json").write_text(json.dumps(full), encoding="utf-8")
    (dst / "tokenizer_config.json").write_bytes((src / "tokenizer_config.json").read_bytes())
    return dst


@pytest.fixture(scope="session")
def full_data_dir() -> Path:
    """The full data root for tests marked ``full_data``: only $JRT_DATA_DIR (skips when unset)."""
    from jrt.env import data_root

    path = data_root(required=False)
    if path is None:
        pytest.skip("full data test: set $JRT_DATA_DIR to the full data root to run it")
    return path


@pytest.fixture(scope="session")
def load_script():
    """load_script("name") -> scripts/name.py as a module (the scripts are not a package)."""
    import importlib.util

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def fixture_data_root() -> Path:
    """The small data root shipped in tests/fixtures/data (same layout as the full data)."""
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def fixture_hub_root() -> Path:
    """Local mirror of hub datasets in their schema: ``<root>/hazyresearch/<name>/validation.jsonl``."""
    return FIXTURE_HUB


@pytest.fixture(scope="session")
def recall_data_dir(fixture_data_root) -> Path:
    return fixture_data_root


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir(tmp_path_factory) -> Path:
    return materialize_gpt2(tmp_path_factory.mktemp("gpt2"))


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
