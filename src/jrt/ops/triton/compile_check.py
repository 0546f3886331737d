"""Compile every kernel for a GPU target without a GPU, and report registers and spills.

    python -m jrt.ops.triton.compile_check [--dtypes bf16 fp16 fp32] [--all-configs] [--arch 90]

Triton lowers to PTX and runs the bundled ptxas for the target (default sm_90, the H100), so this
catches compile errors the interpreter cannot (non-constexpr globals, layouts, dot shapes) and
shows the register pressure of each autotune config (STACK > 0 bytes means spills to local
memory). It must run without TRITON_INTERPRET=1. Exit status 1 if any kernel fails to compile.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dtypes", nargs="*", default=["bf16", "fp16", "fp32"])
    p.add_argument("--arch", type=int, default=90)
    p.add_argument("--all-configs", action="store_true", help="every autotune config (default: the first one)")
    p.add_argument("--F", type=int, default=16)
    p.add_argument("--D", type=int, default=64)
    p.add_argument("--sym", action="store_true",
                   help="instead: the symmetric forward (based_sym.py) next to _based_fwd_kernel, over "
                        "BT {16,32} x BD {32,64} x TRANS_OUT x warps {4,8} (outputs, mask, initial state, state)")
    p.add_argument("--stages", type=int, default=1, help="num_stages of the --sym sweep")
    args = p.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") == "1":
        print("compile_check needs TRITON_INTERPRET unset", file=sys.stderr)
        return 2

    import torch
    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from . import _configs
    from . import based_chunk as bc
    from . import decode as dc
    from ._common import feature_block, precisions

    target = GPUTarget("cuda", args.arch, 32)
    cuobjdump = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    ty = {"bf16": (tl.bfloat16, torch.bfloat16), "fp16": (tl.float16, torch.float16), "fp32": (tl.float32, torch.float32)}
    F, D = args.F, args.D
    E, BF = 1 + F + F * F, feature_block(F)
    failures = 0

    def build(jitfn, ptrs, scalars, consts, num_warps, num_stages, tag):
        nonlocal failures
        defaults = {"TRANS_OUT": False, "STATE_T": False, "EMU": False,  # constexprs with a default in the signature
                    "DS_INIT": False}
        consts = {**{k: v for k, v in defaults.items() if k in jitfn.arg_names}, **consts}
        sig = {n: ("constexpr" if n in consts else ptrs.get(n) or scalars[n]) for n in jitfn.arg_names}
        t0 = time.time()
        try:
            k = triton.compile(ASTSource(jitfn, sig, consts), target=target,
                               options=dict(num_warps=num_warps, num_stages=num_stages))
        except Exception as exc:  # noqa: BLE001
            failures += 1
            print(f"FAIL {tag} w{num_warps} s{num_stages}: {type(exc).__name__}: {str(exc)[-2000:]}", flush=True)
            return
        usage = ""
        if os.path.exists(cuobjdump):
            with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
                f.write(k.asm["cubin"])
                f.flush()
                out = subprocess.run([cuobjdump, "--dump-resource-usage", f.name], capture_output=True, text=True).stdout
            m = re.search(r"REG:(\d+).*?STACK:(\d+)", out)
            usage = f"regs={m.group(1)} spill_stack={m.group(2)}B" if m else ""
        print(f"ok   {tag:58s} w{num_warps} s{num_stages}: {usage} smem={k.metadata.shared}B ({time.time() - t0:.1f}s)",
              flush=True)

    if args.sym:
        from . import based_sym as bs
        for dt in args.dtypes:
            tl_dt, torch_dt = ty[dt]
            lowp, in_prec, st_prec = precisions(torch_dt)
            if dt == "fp16":
                st_prec = "tf32"
            base = dict(F=F, D=D, E=E, BF=BF, LOWP=lowp, DT=tl_dt, IN_PREC=in_prec, ST_PREC=st_prec,
                        HAS_MASK=True, HAS_INIT=True, STORE_STATE=True, STORE_DEN=True)
            ptrs = {n: f"*{dt}" for n in ("q_ptr", "k_ptr", "v_ptr", "o_ptr")}
            ptrs.update({n: "*fp32" for n in ("s_init_ptr", "z_init_ptr", "den_ptr", "s_out_ptr", "z_out_ptr")})
            ptrs["mask_ptr"] = "*i8"
            scal = dict(T="i32", H="i32", SEG_LEN="i32", mask_stride="i32", eps="fp32", T_BUCKET="i32", NSEG="i32")
            for bt in (16, 32):
                for bd in (32, 64):
                    for trans in (False, True, "STATE_T"):
                        for w in (4, 8):
                            meta = dict(BT=bt, BD=bd, TRANS_OUT=bool(trans))
                            if trans != "STATE_T":
                                build(bc._based_fwd_kernel, ptrs, scal, dict(base, **meta, WRITE_OUT=True),
                                      w, args.stages, f"fwd  {dt} {meta}")
                            else:
                                meta["STATE_T"] = True
                            build(bs._based_sym_fwd_kernel, ptrs, scal,
                                  dict(base, **meta, FL=(F + 1) // 2, HB=bs.HB), w, args.stages, f"sym  {dt} {meta}")
        print(f"{failures} failure(s)")
        return 1 if failures else 0

    for dt in args.dtypes:
        tl_dt, torch_dt = ty[dt]
        lowp, in_prec, st_prec = precisions(torch_dt)
        if dt == "fp16":
            st_prec = "tf32"
        base = dict(F=F, D=D, E=E, BF=BF, LOWP=lowp, DT=tl_dt, IN_PREC=in_prec, ST_PREC=st_prec)
        if dt == "fp32":
            fcfg = [({"BT": bc.FP32_FWD["BT"], "BD": bc.FP32_FWD["BD"]}, bc.FP32_FWD["num_warps"], bc.FP32_FWD["num_stages"])]
            bcfg = [({"BT": bc.FP32_BWD["BT"]}, bc.FP32_BWD["num_warps"], bc.FP32_BWD["num_stages"])]
        else:
            cap = (args.arch // 10, args.arch % 10)
            fcfg, bcfg, scfg = (_configs.select(kind, cap) for kind in ("fwd", "bwd", "sym"))
            if not args.all_configs:
                fcfg, bcfg, scfg = fcfg[:1], bcfg[:1], scfg[:1]
        ptrs = {n: f"*{dt}" for n in ("q_ptr", "k_ptr", "v_ptr", "o_ptr")}
        ptrs.update({n: "*fp32" for n in ("s_init_ptr", "z_init_ptr", "den_ptr", "s_out_ptr", "z_out_ptr")})
        ptrs["mask_ptr"] = "*i8"
        scal = dict(T="i32", H="i32", SEG_LEN="i32", mask_stride="i32", eps="fp32", T_BUCKET="i32")
        for meta, w, st in fcfg:
            for write_out in (True, False):
                c = dict(base, **meta, HAS_MASK=True, HAS_INIT=True, WRITE_OUT=write_out, STORE_STATE=True)
                build(bc._based_fwd_kernel, ptrs, scal, c, w, st, f"fwd {dt} {meta} WRITE_OUT={write_out}")
        ptrs = {n: f"*{dt}" for n in ("q_ptr", "k_ptr", "v_ptr", "do_ptr", "dv_ptr")}
        ptrs.update({n: "*fp32" for n in ("s_init_ptr", "z_init_ptr", "den_ptr", "hh_ptr", "dq_ptr", "ds_init_ptr",
                                          "dz_init_ptr", "dk_ptr", "ds_out_ptr", "dz_out_ptr")})
        ptrs["mask_ptr"] = "*i8"
        scal = dict(T="i32", H="i32", SEG_LEN="i32", mask_stride="i32", T_BUCKET="i32")
        bd = min(bc.BWD_BD_CAP, max(16, D))
        for meta, w, st in bcfg:
            build(bc._based_bwd_dq_kernel, ptrs, scal, dict(base, **meta, BD=bd, HAS_MASK=True, HAS_INIT=True),
                  w, st, f"bwd_dq {dt} {meta}")
            for intra, ds_init in ((True, False), (False, False), (True, True)):
                build(bc._based_bwd_dkdv_kernel, ptrs, scal,
                      dict(base, **meta, BD=bd, HAS_MASK=True, INTRA=intra, STORE_STATE=intra and not ds_init,
                           DS_INIT=ds_init),
                      w, st, f"bwd_dkdv {dt} {meta} INTRA={intra} DS_INIT={ds_init}")
        if dt != "fp32":  # the symmetric forward (production default), its autotune set
            from . import based_sym as bs
            ptrs_s = {n: f"*{dt}" for n in ("q_ptr", "k_ptr", "v_ptr", "o_ptr")}
            ptrs_s.update({n: "*fp32" for n in ("s_init_ptr", "z_init_ptr", "den_ptr", "s_out_ptr", "z_out_ptr")})
            ptrs_s["mask_ptr"] = "*i8"
            scal_s = dict(T="i32", H="i32", mask_stride="i32", eps="fp32", T_BUCKET="i32", NSEG="i32")
            for meta, w, st in scfg:
                build(bs._based_sym_fwd_kernel, ptrs_s, scal_s,
                      dict(base, **meta, FL=(F + 1) // 2, HB=bs.HB, HAS_MASK=True, HAS_INIT=True, STORE_STATE=True,
                           STORE_DEN=True), w, st, f"sym {dt} {meta}")
        ptrs = {n: f"*{dt}" for n in ("q_ptr", "k_ptr", "v_ptr", "o_ptr")}
        ptrs.update({n: "*fp32" for n in ("s_ptr", "z_ptr", "s_new_ptr", "z_new_ptr")})
        build(dc._based_decode_kernel.fn, ptrs, dict(eps="fp32"), dict(F=F, D=D, E=E, BF=BF, BD=32), 4, 1,
              f"decode {dt}")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
