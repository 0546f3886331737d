"""Synthetic recall: MQAR and set disjointness, the models compared on them, the runner and plots.

    from jrt.synthetics import MQARTask, SetDisjointnessTask, Variant, ModelSpec, RunConfig, TrainConfig, run
    result = run(RunConfig("x", MQARTask(), ModelSpec("jrt"), Variant(prefix=True)))

Command line: `jrt synth --preset demo | --sweep mqar|set-disjointness | --plot DIR` (see cli.py).
"""
from .data import (
    IGNORE_INDEX,
    PAPER_SD_TEST,
    PAPER_SD_TRAIN,
    MQARSegment,
    MQARTask,
    SDSegment,
    Segment,
    SetDisjointnessTask,
    SynthData,
    Variant,
    apply_variant,
    load_data,
    load_split,
)
from .model_factory import MODEL_KINDS, ModelSpec, build_model, state_bytes

__all__ = ["IGNORE_INDEX", "PAPER_SD_TEST", "PAPER_SD_TRAIN", "MQARSegment", "MQARTask", "SDSegment", "Segment",
           "SetDisjointnessTask", "SynthData", "Variant", "apply_variant", "load_data", "load_split", "MODEL_KINDS",
           "ModelSpec", "build_model", "state_bytes", "RunConfig", "TrainConfig", "run", "run_sweep"]


def __getattr__(name):  # the runner imports torch training utilities: load it on first use
    if name in ("RunConfig", "TrainConfig", "run", "run_sweep"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
