"""Triton's interpreter for the kernel tests on machines without CUDA (import before any kernel module).

Interpreter mode is process-wide (triton.jit reads TRITON_INTERPRET when a kernel is defined), so it
is set here, before the kernels are imported, and only on machines without CUDA: a combined
`pytest tests/gpu tests/ops` on a GPU box keeps the GPU tests compiled (there, run the interpreter
modules alone with TRITON_INTERPRET=1).
"""
import os
import sys

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


def interpreting() -> bool:
    """True when the kernels are, or will be, defined in interpreter mode."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    mod = sys.modules.get("jrt.ops.triton._common")  # kernels already defined: in which mode?
    return mod is None or mod.INTERPRET
