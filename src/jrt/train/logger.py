"""The run log: one JSON line per record in <run>/log.jsonl, mirrored to TensorBoard when installed."""
from __future__ import annotations

import json
import sys
from pathlib import Path


class JSONLLogger:
    def __init__(self, out: Path, enabled: bool, tensorboard: bool, purge_step: int | None = None):
        """purge_step: on a resumed run, TensorBoard drops the events from this step on (logged again)."""
        self.enabled = enabled
        self.path = Path(out) / "log.jsonl"
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(Path(out) / "tb"), purge_step=purge_step)
            except Exception as e:  # noqa: BLE001 - tensorboard is optional
                print(f"[train] tensorboard disabled: {e}", file=sys.stderr)

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
        if self.tb is not None:
            step, kind = record.get("step", 0), record.get("kind", "train")
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.tb.add_scalar(f"{kind}/{key}", value, step)
                elif isinstance(value, dict):
                    for key2, value2 in value.items():
                        if isinstance(value2, (int, float)):
                            self.tb.add_scalar(f"{kind}/{key}/{key2}", value2, step)

    def close(self):
        if self.tb is not None:
            self.tb.close()
