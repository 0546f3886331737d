"""scripts/copy_recall_distance.py: the answer's distance to the end of the prompt, counted in the
tokenizer's tokens; hits bucketed from samples whose examples it rebuilds from the fixture data
(and refuses samples that are not those examples)."""
import gzip
import json

import pytest


def test_answer_distance_counts_tokens_from_the_last_occurrence(gpt2, load_script):
    s = load_script("copy_recall_distance")
    prompt = "Author: Jane Doe. Many words follow here about the book. Jane Doe signs. Author:"
    # the last "Jane Doe" starts the tail " Jane Doe signs. Author:" (case-insensitive search)
    tail = prompt[prompt.rfind("Jane Doe"):]
    assert s.answer_distance(prompt, ["jane doe"], gpt2) == len(gpt2.encode(tail))
    assert s.answer_distance(prompt, ["Nobody"], gpt2) is None
    assert [s.bucket(d) for d in (1, 128, 129, 256, 257)] == ["<= 128", "<= 128", "129-256", "129-256", "> 256"]


def test_distances_from_rebuilt_examples(tmp_path, gpt2, gpt2_tokenizer_dir, fixture_data_root, load_script):
    from jrt.tasks import iter_task

    s = load_script("copy_recall_distance")
    examples = list(iter_task("swde", gpt2, data_dir=fixture_data_root, context_length=256, limit=6, seed=0,
                              source="local"))
    assert len(examples) >= 2
    cfg = tmp_path / "eval" / "m" / "w256_pad"
    cfg.mkdir(parents=True)
    rows = [{"doc_id": ex.doc_id, "answers": list(ex.answers), "contains": i % 2, "copy_required": True}
            for i, ex in enumerate(examples)]
    with gzip.open(cfg / "samples_jrt_swde.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    table = s.distances(tmp_path, str(fixture_data_root), str(gpt2_tokenizer_dir), [256], tasks=("swde",), limit=6)
    cells = table["m"]["swde"]["256"]
    expected = {}
    for r, ex in zip(rows, examples):
        d = s.answer_distance(ex.prompt, list(ex.answers), gpt2)
        cell = expected.setdefault("not in prompt" if d is None else s.bucket(d), [0, 0])
        cell[0] += r["contains"]
        cell[1] += 1
    assert cells == expected and sum(n for _, n in cells.values()) == len(rows)
    assert "| m | swde | 256 |" in s.markdown(table)

    rows[0]["answers"] = ["something else"]
    with gzip.open(cfg / "samples_jrt_swde.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    with pytest.raises(SystemExit, match="not the evaluated ones"):
        s.distances(tmp_path, str(fixture_data_root), str(gpt2_tokenizer_dir), [256], tasks=("swde",), limit=6)


def test_miss_kind_says_where_a_wrong_answer_comes_from(gpt2, load_script):
    s = load_script("copy_recall_distance")
    far = "Publisher: Acme Books. " + "filler words " * 200           # > 128 tokens before the end
    prompt = far + "Isbn: 123. Title: The Sea. Author:"
    assert s.miss_kind("\nJane", prompt, gpt2) == "empty"              # first line empty, as scored
    assert s.miss_kind(" The Sea\nmore", prompt, gpt2) == "copied from the last 128 tokens"
    assert s.miss_kind(" acme books", prompt, gpt2) == "copied from further back"
    assert s.miss_kind(" Zed Smith", prompt, gpt2) == "not in the prompt"


def test_far_misses_counted_for_answers_beyond_the_window(tmp_path, gpt2, gpt2_tokenizer_dir, fixture_data_root,
                                                          load_script):
    from jrt.tasks import iter_task

    s = load_script("copy_recall_distance")
    examples = list(iter_task("swde", gpt2, data_dir=fixture_data_root, context_length=1000, limit=6, seed=0,
                              source="local"))
    cfg = tmp_path / "eval" / "m" / "w1000_pad"
    cfg.mkdir(parents=True)
    rows = [{"doc_id": ex.doc_id, "answers": list(ex.answers), "contains": 0, "copy_required": True,
             "generation": " Zed Smith\n"} for ex in examples]
    with gzip.open(cfg / "samples_jrt_swde.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    misses: dict = {}
    s.distances(tmp_path, str(fixture_data_root), str(gpt2_tokenizer_dir), [1000], tasks=("swde",), limit=6,
                misses=misses)
    far = sum(1 for ex in examples if (d := s.answer_distance(ex.prompt, list(ex.answers), gpt2)) and d > 128)
    assert far >= 1
    assert misses == {"m": {"swde": {"1000": {"not in the prompt": far}}}}
    assert "| m | swde | 1000 | " + str(far) + " | 0% | 0% | 0% | 100% |" in s.misses_markdown(misses)


def test_pooled_counts_and_plot_from_saved_json(tmp_path, load_script):
    s = load_script("copy_recall_distance")
    table = {"m": {"swde": {"256": {"<= 128": [2, 5], "129-256": [0, 4]}, "1000": {"> 256": [1, 9]}},
                   "fda": {"256": {"<= 128": [1, 3]}}}}
    assert s.pooled(table) == {"m": {"<= 128": [3, 8], "129-256": [0, 4], "> 256": [1, 9]}}
    saved = tmp_path / "answer_distance.json"
    saved.write_text(json.dumps({"buckets": ["<= 128", "129-256", "> 256"], "fill": "pad", "hits_n": table,
                                 "far_misses": {}}))
    png = tmp_path / "distance.png"
    assert s.main(["--from-json", str(saved), "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit):
        s.main([])                           # neither --data-root nor --from-json
