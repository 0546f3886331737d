"""lm-evaluation-harness integration, end to end, offline, on CPU with tiny random models."""
import json

import pytest

from jrt.eval.runner import TASKS_DIR, normalize_tasks, results_table
from jrt.tasks import TASK_NAMES

LIMIT = 5
CONTEXT_LENGTH = 96   # small windows keep the CPU run short; the code path is the paper's
MAX_GEN_TOKS = 8      # the tasks ask 48; fewer here only to keep CI fast


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_task_folder_is_indexed_by_lm_eval():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    names = set(manager.all_tasks)
    assert {"jrt_" + t for t in TASK_NAMES} <= names
    assert {"jrt_recall", "jrt_recall_default", "jrt_recall_twice"} & names


def test_task_yaml_settings():
    import yaml

    for name in TASK_NAMES:
        text = (TASKS_DIR / "jrt_recall" / f"jrt_{name}.yaml").read_text()
        cfg = yaml.safe_load(text.replace("!function", ""))
        assert cfg["task"] == "jrt_" + name
        assert cfg["output_type"] == "generate_until"
        assert cfg["generation_kwargs"]["until"] == ["\n"]
        assert cfg["generation_kwargs"]["max_gen_toks"] == 48
        assert cfg["generation_kwargs"]["do_sample"] is False
        assert cfg["metric_list"][0]["metric"] == "contains"
        assert cfg["custom_dataset"].strip() == "utils." + name


def test_normalize_tasks():
    assert normalize_tasks("swde,swde_twice") == ["jrt_swde", "jrt_swde_twice"]
    assert normalize_tasks(["jrt_fda", "fda"]) == ["jrt_fda"]
    assert normalize_tasks("nq+") == ["jrt_nq", "jrt_nq_twice"]
    assert normalize_tasks("all") == ["jrt_" + t for t in TASK_NAMES]
    assert "jrt_drop" not in normalize_tasks("all", "local") and "jrt_kv_retrieval" in normalize_tasks("all", "local")
    assert normalize_tasks("jrt_recall", "hub") == ["jrt_" + t for t in TASK_NAMES if "kv_retrieval" not in t]
    with pytest.raises(ValueError, match="unknown task 'wikipedia'"):
        normalize_tasks("swde,wikipedia")


def test_results_table():
    table = results_table({"jrt_swde": 0.25, "jrt_swde_twice": 0.5, "jrt_fda": 0.1, "jrt_fda_twice": 0.2},
                          {"jrt_swde": 4, "jrt_fda": 10})
    assert "| swde | 4 | 25.0 | 50.0 | +25.0 |" in table
    assert "| fda | 10 | 10.0 | 20.0 | +10.0 |" in table
    assert "| **average** (2 tasks) | | 17.5 | 35.0 | +17.5 |" in table


def test_model_path_that_is_not_a_model(tmp_path, gpt2_tokenizer_path):
    from jrt.eval.models import JRTLM

    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither a model folder"):
        JRTLM(pretrained=str(tmp_path / "empty"), tokenizer=str(gpt2_tokenizer_path), device="cpu")
    with pytest.raises(ValueError, match="could not load a tokenizer"):
        JRTLM(pretrained="jrt-tiny", tokenizer=str(tmp_path / "empty"), device="cpu")


def test_fla_architecture_without_fla_is_one_clear_error(tmp_path, monkeypatch):
    import json
    import sys

    from jrt.models.loading import load_causal_lm

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gla", "hidden_size": 64}))
    monkeypatch.setitem(sys.modules, "fla", None)  # `import fla` raises ImportError
    with pytest.raises(ValueError, match="model_type 'gla'.*flash-linear-attention"):
        load_causal_lm(str(tmp_path))


def test_native_type_loads_with_transformers_class_despite_registration(tiny_hf_models, monkeypatch):
    """`import fla` registers fla's Mamba2 over transformers' "mamba2" (exist_ok=True); a folder saved
    from transformers' Mamba2 must still load as transformers' Mamba2 with its own weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, Mamba2Config, Mamba2ForCausalLM
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    from jrt.models.loading import load_causal_lm

    class OtherMamba2Config(Mamba2Config):  # stands in for fla's config of the same model_type
        pass

    class OtherMamba2(Mamba2ForCausalLM):
        config_class = OtherMamba2Config

    # the registrations fla makes, undone after the test (they live in these two dicts)
    monkeypatch.setattr(CONFIG_MAPPING, "_extra_content", dict(CONFIG_MAPPING._extra_content))
    monkeypatch.setattr(MODEL_FOR_CAUSAL_LM_MAPPING, "_extra_content", dict(MODEL_FOR_CAUSAL_LM_MAPPING._extra_content))
    AutoConfig.register("mamba2", OtherMamba2Config, exist_ok=True)
    AutoModelForCausalLM.register(OtherMamba2Config, OtherMamba2, exist_ok=True)
    assert type(AutoModelForCausalLM.from_pretrained(str(tiny_hf_models["mamba2"]))) is OtherMamba2  # the trap

    model = load_causal_lm(str(tiny_hf_models["mamba2"]), dtype=torch.float32)
    assert type(model) is Mamba2ForCausalLM
    saved = Mamba2ForCausalLM.from_pretrained(str(tiny_hf_models["mamba2"]), dtype=torch.float32)
    for (name, p), (_, q) in zip(model.state_dict().items(), saved.state_dict().items()):
        assert torch.equal(p, q), name


def test_cli_errors(tmp_path, recall_data_dir, gpt2_tokenizer_path, capsys):
    from jrt.cli import main

    base = ["eval", "--tokenizer", str(gpt2_tokenizer_path), "--data-dir", str(recall_data_dir)]
    assert main(base + ["--model", "jrt-tiny", "--tasks", "swde,wikipedia"]) == 2
    assert "unknown task 'wikipedia'" in capsys.readouterr().err
    assert main(base + ["--model", str(tmp_path)]) == 2
    assert "neither a model folder" in capsys.readouterr().err
    assert main(["eval", "--model", "jrt-tiny", "--tokenizer", str(gpt2_tokenizer_path),
                 "--data-dir", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _run(model, tokenizer, data_dir, out, tasks="all", **kwargs):
    from jrt.eval.runner import run_eval

    kwargs.setdefault("log_samples", "full")
    return run_eval(model=str(model), tokenizer=str(tokenizer), tasks=tasks, context_length=CONTEXT_LENGTH,
                    limit=LIMIT, batch_size=64, device="cpu", out=out, data_dir=data_dir,
                    max_gen_toks=MAX_GEN_TOKS, **kwargs)


def _samples(out, task):
    import gzip

    with gzip.open(out / f"samples_{task}.jsonl.gz", "rt") as handle:
        return [json.loads(line) for line in handle]


def _check_outputs(summary, out, tasks):
    assert summary["tasks"] == tasks
    for task in tasks:
        assert 0.0 <= summary["contains"][task] <= 1.0
        assert summary["n"][task] == (2 if "kv_retrieval" in task else LIMIT)  # the fixture has 2 kv rows
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["summary"]["contains"]) == set(tasks)
    table = (out / "table.md").read_text()
    assert "| **average**" in table and "JRT-Prompt (twice)" in table
    # lm-eval sent exactly the prompts jrt.tasks built, and scored with contains
    rows = _samples(out, "jrt_swde_twice")
    assert len(rows) == LIMIT
    for row in rows:
        rec = row["lm_eval"] if summary["backend"] == "lm-eval" else {"doc": {"prompt": row["prompt"]},
                                                                      "arguments": [[row["prompt"]]]}
        args = rec["arguments"]
        prompt = args[0][0] if isinstance(args, list) else args["gen_args_0"]["arg_0"]
        assert prompt == rec["doc"]["prompt"] == row["prompt"]
        assert prompt.startswith("Information about ")
        assert row["contains"] in (0, 1)


def test_end_to_end_jrt_tiny(tmp_path, recall_data_dir, gpt2_tokenizer_path):
    summary = _run("jrt-tiny", gpt2_tokenizer_path, recall_data_dir, tmp_path)
    _check_outputs(summary, tmp_path, normalize_tasks("all", "local"))


def test_end_to_end_jrt_tiny_read2x_padding(tmp_path, recall_data_dir, gpt2_tokenizer_path):
    summary = _run("jrt-tiny", gpt2_tokenizer_path, recall_data_dir, tmp_path, tasks="swde+",
                   prefix_fill="repeat")
    assert summary["prefix_fill"] == "repeat"
    _check_outputs(summary, tmp_path, ["jrt_swde", "jrt_swde_twice"])


@pytest.mark.parametrize("name", ["llama", "mamba2"])
def test_end_to_end_hf_models(name, tiny_hf_models, tmp_path, recall_data_dir):
    path = tiny_hf_models[name]
    summary = _run(path, path, recall_data_dir, tmp_path)  # tokenizer saved beside the model
    _check_outputs(summary, tmp_path, normalize_tasks("all", "local"))


def test_simple_evaluate_with_task_manager_metadata(tiny_hf_models, recall_data_dir):
    """The plain lm-eval route: TaskManager(include_path, metadata) + a model string."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    import jrt.eval.models  # noqa: F401  registers the "jrt" model

    path = tiny_hf_models["llama"]
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False,
                          metadata={"tokenizer": str(path), "data_dir": str(recall_data_dir),
                                    "context_length": CONTEXT_LENGTH, "max_examples": 2})
    out = lm_eval.simple_evaluate(model="jrt", model_args=f"pretrained={path},device=cpu,batch_size=4",
                                  tasks=["jrt_nq", "jrt_nq_twice"], task_manager=manager, limit=2,
                                  gen_kwargs={"max_gen_toks": 4}, log_samples=False)
    assert set(out["results"]) >= {"jrt_nq", "jrt_nq_twice"}
    assert 0.0 <= out["results"]["jrt_nq"]["contains,none"] <= 1.0


@pytest.mark.parametrize("name", ["jrt-tiny", "llama", "mamba2"])
def test_batched_generation_equals_one_at_a_time(name, tiny_hf_models, gpt2_tokenizer_path):
    """Left padding inside a batch (and to enc_length for JRT) must not change greedy outputs."""
    from jrt.eval.models import JRTLM

    model = name if name == "jrt-tiny" else str(tiny_hf_models[name])
    lm = JRTLM(model, tokenizer=str(gpt2_tokenizer_path), device="cpu", batch_size=4)
    prompts = ["The author is Tolkien. Author:",
               "A much longer prompt than the others, with many more words in it to pad. Key:", "x y z"]
    batched = lm.generate(prompts, until=["\n"], max_gen_toks=6)
    single = [lm.generate([p], until=["\n"], max_gen_toks=6)[0] for p in prompts]
    assert batched == single
    assert all("\n" not in text for text in batched)


def test_oracle_model_through_lm_eval(recall_data_dir, gpt2_tokenizer_path):
    """The scoring path of the shipped tasks: an oracle answering correctly scores 1, one that puts
    the answer after a newline scores 0 (generation is cut at "\\n")."""
    import lm_eval
    from lm_eval.api.model import LM

    from jrt.eval.runner import make_task_manager
    from jrt.tasks import iter_task

    tasks = ["swde", "swde_twice", "squad", "squad_twice"]
    gold = {}
    for task in tasks:
        for ex in iter_task(task, str(gpt2_tokenizer_path), data_dir=recall_data_dir,
                            context_length=CONTEXT_LENGTH, limit=LIMIT):
            gold[ex.prompt] = (ex.answers[0], ex.passes)

    class Oracle(LM):
        def loglikelihood(self, requests):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm=False):
            outs = []
            for request in requests:
                prompt, kwargs = request.args
                assert kwargs["until"] == ["\n"] and kwargs["max_gen_toks"] == 48
                answer, passes = gold[prompt]
                outs.append(" " + answer.upper() + " and more" if passes == 1 else "\n" + answer)
            return outs

    manager = make_task_manager(str(gpt2_tokenizer_path), recall_data_dir, CONTEXT_LENGTH, 50,
                                max_examples=LIMIT)
    out = lm_eval.simple_evaluate(model=Oracle(), tasks=["jrt_" + t for t in tasks], task_manager=manager,
                                  limit=LIMIT, log_samples=False, bootstrap_iters=0)
    assert out["results"]["jrt_swde"]["contains,none"] == 1.0
    assert out["results"]["jrt_squad"]["contains,none"] == 1.0
    assert out["results"]["jrt_swde_twice"]["contains,none"] == 0.0
    assert out["results"]["jrt_squad_twice"]["contains,none"] == 0.0


def test_native_backend_matches_lm_eval(tiny_hf_models, tmp_path, recall_data_dir):
    """`--backend native` (no lm-eval) sends the same prompts, generates the same text and scores
    the same as the lm-eval route."""
    path = tiny_hf_models["llama"]
    tasks = "swde+,squad+"
    via_lm_eval = _run(path, path, recall_data_dir, tmp_path / "lm_eval", tasks=tasks, backend="lm-eval")
    native = _run(path, path, recall_data_dir, tmp_path / "native", tasks=tasks, backend="native")
    assert via_lm_eval["backend"] == "lm-eval" and native["backend"] == "native"
    assert native["contains"] == via_lm_eval["contains"] and native["n"] == via_lm_eval["n"]
    for task in via_lm_eval["tasks"]:
        ours = _samples(tmp_path / "native", task)
        theirs = _samples(tmp_path / "lm_eval", task)
        by_prompt = {row["prompt"]: row["generation"] for row in theirs}
        assert len(ours) == len(theirs) == LIMIT
        for row in ours:
            assert by_prompt[row["prompt"]] == row["generation"]
    table = (tmp_path / "native" / "table.md").read_text()
    assert "| swde | 5 |" in table and "| squad | 5 |" in table


def test_auto_backend_without_lm_eval(tiny_hf_models, tmp_path, recall_data_dir, monkeypatch):
    """Where lm-eval is not installed (the GPU image), `jrt eval` falls back to the native route."""
    import sys

    from jrt.eval.runner import run_eval

    monkeypatch.setitem(sys.modules, "lm_eval", None)  # `import lm_eval` now raises ImportError
    path = tiny_hf_models["mamba2"]
    summary = run_eval(str(path), None, "nq+", context_length=CONTEXT_LENGTH, limit=2, batch_size=4,
                       device="cpu", out=tmp_path, data_dir=recall_data_dir, max_gen_toks=4)
    assert summary["backend"] == "native"
    assert summary["n"] == {"jrt_nq": 2, "jrt_nq_twice": 2}
    assert (tmp_path / "table.md").exists()
    row = _samples(tmp_path, "jrt_nq_twice")[0]
    assert {"doc_id", "answers", "generation", "contains", "prompt_tail"} <= set(row) and "prompt" not in row
