"""lm-eval's own command line with the ``jrt`` model registered: ``jrt-lm-eval`` or
``python -m jrt.eval.lm_eval_main``, then exactly lm-eval's arguments, e.g.

    jrt-lm-eval run --model jrt --model_args pretrained=DIR,tokenizer=TOK --include_path \\
        $(python -c "import jrt.eval; print(jrt.eval.TASKS_DIR)") --tasks jrt_swde,jrt_swde_twice \\
        --metadata '{"data_dir": "DATA", "context_length": 1000}'

lm-eval 0.4.13 finds models only in its registry (no entry-point discovery) and creates the model
before it imports any task file, so the plain ``lm_eval`` command cannot see ``jrt``; this wrapper
imports :mod:`jrt.eval.models` (which registers it) and hands over to ``lm_eval``'s CLI.
"""
from __future__ import annotations


def main() -> None:
    from lm_eval.__main__ import cli_evaluate

    import jrt.eval.models  # noqa: F401  registers "jrt" with lm-eval

    cli_evaluate()


if __name__ == "__main__":
    main()
