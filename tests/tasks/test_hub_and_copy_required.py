"""Hub datasets (offline, on hub-schema fixtures), official prompts, TriviaQA/DROP, stratified
sampling, copy-required tagging and Wilson intervals."""
import json

import pytest

from jrt.tasks import build_task, stratified_by_document, wilson_interval
from jrt.tasks.copy_required import CorpusIndex, copy_required_values
from jrt.tasks.prompts import build_prompt
from jrt.tasks.sources import hub_dataset_name, load_hub_rows


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def test_hub_names():
    assert hub_dataset_name("swde") == "hazyresearch/based-swde-v2"
    assert hub_dataset_name("fda") == "hazyresearch/based-fda"
    assert hub_dataset_name("squad") == "hazyresearch/based-squad"
    assert hub_dataset_name("nq", 512) == "hazyresearch/based_nq_512"
    assert hub_dataset_name("triviaqa") == "hazyresearch/based_triviaqa"
    assert hub_dataset_name("drop") == "hazyresearch/based_drop"
    with pytest.raises(ValueError, match="no hub dataset"):
        hub_dataset_name("kv_retrieval")


def test_offline_hub_without_mirror_fails_at_once(tmp_path):
    with pytest.raises(ValueError, match="could not be loaded.*--source local"):
        list(load_hub_rows("hazyresearch/based-fda-not-cached", tmp_path))
    with pytest.raises(ValueError, match="no local data"):
        build_task("drop", (str.split, " ".join), data_dir=tmp_path, source="local")


@pytest.mark.parametrize("base", ["swde", "fda", "squad", "nq", "triviaqa", "drop"])
def test_hub_tasks_on_fixtures(base, gpt2, fixture_hub_root):
    default = build_task(base, gpt2, data_dir=fixture_hub_root, source="hub", context_length=200, limit=2)
    twice = build_task(base + "_twice", gpt2, data_dir=fixture_hub_root, source="hub", context_length=200, limit=2)
    assert len(default) == len(twice) == 2
    rows = [json.loads(x) for x in (fixture_hub_root / hub_dataset_name(base) / "validation.jsonl")
            .read_text().splitlines()]
    for d, t in zip(default, twice):
        assert d.n_context_tokens <= 150 and d.extra["source"] == "hub"
        assert "Summary of information above" not in d.prompt
        assert "[PAR]" not in d.prompt and "[DOC]" not in d.prompt and "[TLE]" not in t.prompt
        assert t.prompt.count(d.context) >= 1
    if base in ("nq", "triviaqa", "drop"):
        row = next(r for r in rows if r["answers"] == default[0].answers)
        assert default[0].prompt.endswith(". " + row["question"].strip())
        intro = row["orig_question"] if base == "triviaqa" else row["orig_question"].strip(":")
        assert twice[0].prompt.startswith(intro + " ")
    if base == "drop":
        assert not twice[0].prompt.startswith(rows[0]["orig_question"])  # the ":" is stripped
    if base == "squad":
        row = rows[0]
        assert default[0].prompt == row["text"].strip()
        assert twice[0].prompt == row["question"] + " " + row["context"].split("Question:")[0] + "\n" + row["text"].strip()


def test_official_fda_cleanup_keeps_edge_tabs():
    rec = {"style": "fda", "question": "panel"}
    context, prompt = build_prompt(rec, "values and expected\t\t.\n", 1)
    assert prompt == "values and expected\t\t. Panel:"
    _, twice = build_prompt(rec, "values and expected\t\t.\npanel:", 2)
    assert twice == "Information about Panel. values and expected\t\t.\nvalues and expected\t\t. Panel:"
    swde = {"style": "swde", "question": "author"}
    assert build_prompt(swde, "x. .", 1)[1] == "x. . Author:"   # default: spaces, then dots, then "."
    assert build_prompt(swde, "x. .", 2)[0] == "x."             # twice: dots, then spaces


def test_triviaqa_keeps_start_of_document(gpt2, fixture_hub_root):
    ex = build_task("triviaqa", gpt2, data_dir=fixture_hub_root, source="hub", context_length=60,
                    answer_length=50, limit=1)[0]
    assert ex.n_context_tokens == 10 and ex.prompt.startswith("Quebec City")


def test_stratified_sampling_covers_documents():
    records = [{"doc_id": f"d{i}", "k": j} for i in range(10) for j in range(5)]
    picked = stratified_by_document(records, 10, seed=0)
    assert len({r["doc_id"] for r in picked}) == 10
    assert picked == stratified_by_document(records, 10, seed=0)
    assert picked != stratified_by_document(records, 10, seed=1)
    assert len(stratified_by_document(records, 23)) == 23


def test_limit_samples_across_held_out_documents(fixture_data_root):
    cheap = (lambda s: list(s.encode("utf-8")), lambda ids: bytes(ids).decode("utf-8", errors="ignore"))
    held = set((fixture_data_root / "swde" / "eval_doc_ids.txt").read_text().split())
    first = build_task("swde", cheap, data_dir=fixture_data_root, context_length=8000, limit=6)
    assert {e.doc_id for e in first} == held  # one attribute of each of the 6 documents


def test_wilson_interval():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 0)[0] != wilson_interval(0, 0)[0]


def test_copy_required_tags_and_cache(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The author was Charlaine HARRIS, isbn 9780316125581x.\n")
    (corpus / "b.jsonl").write_text(json.dumps({"text": "Biosite Incorporated makes tests"}) + "\n")
    index = CorpusIndex([corpus])
    assert index.contains("charlaine harris") and index.contains("0316125581")
    assert not index.contains("Mary Balogh") and not index.contains("was the author")
    tags = copy_required_values(["Charlaine Harris", "Mary Balogh", "biosite incorporated", " k050037 "], [corpus])
    assert tags == {"Charlaine Harris": False, "Mary Balogh": True, "biosite incorporated": False, "k050037": True}
    cached = list(corpus.glob("copy_required_*.json"))
    assert len(cached) == 1
    (corpus / "a.txt").write_text("now mentions mary balogh")  # a changed corpus gets a new cache key
    assert copy_required_values(["Mary Balogh"], [corpus]) == {"Mary Balogh": False}
    with pytest.raises(FileNotFoundError):
        copy_required_values(["x"], [tmp_path / "missing"])


def test_copy_required_cache_half_written(tmp_path):
    """A cache file cut short (another evaluation writing it) is recomputed with a warning, and the
    rewritten cache is whole JSON again."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the author was charlaine harris\n")
    copy_required_values(["Charlaine Harris"], [corpus])
    (cache,) = tmp_path.glob("copy_required_*.json")
    cache.write_text(cache.read_text()[:10])
    with pytest.warns(UserWarning, match="unreadable tag cache"):
        assert copy_required_values(["Charlaine Harris", "Mary Balogh"], [corpus]) == {
            "Charlaine Harris": False, "Mary Balogh": True}
    assert json.loads(cache.read_text())["copy_required"] == {"Charlaine Harris": False, "Mary Balogh": True}
    assert not list(tmp_path.glob("*.tmp"))
