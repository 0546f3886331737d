"""Whether the Triton kernels run under the interpreter in this test session (tests/ops, tests/models).

tests/conftest.py sets TRITON_INTERPRET=1 on machines without CUDA before any test module is
collected (triton.jit reads it when a kernel is defined). On a GPU box a combined
`pytest tests/gpu tests/ops` keeps the kernels compiled, and the interpreter-only modules skip
(run them alone with TRITON_INTERPRET=1).
"""
import os
import sys


def interpreting() -> bool:
    """True when the kernels are, or will be, defined in interpreter mode."""
    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    mod = sys.modules.get("jrt.ops.triton._common")  # kernels already defined: in which mode?
    return mod is None or mod.INTERPRET
