"""HardSeg's checkpointer: detectron2's DetectionCheckpointer with atomic saves, a resume that
falls back to the newest checkpoint that loads, and loading that never runs code from a file."""

import os

import torch

from detectron2.checkpoint import DetectionCheckpointer

from .atomic_file import atomic_write
from .load_file import EXPECTED, CheckpointLoadError, load_checkpoint_file

__all__ = ["HardSegCheckpointer"]

LAST_CHECKPOINT = "last_checkpoint"


class HardSegCheckpointer(DetectionCheckpointer):
    """Used wherever HardSeg writes or reads a checkpoint. Same arguments as
    ``DetectionCheckpointer(model, save_dir, save_to_disk=..., **checkpointables)``; differences:

    * ``save`` writes ``<name>.pth`` and then ``last_checkpoint`` through a temporary file in the
      same directory (flush, fsync, rename): a kill or a full disk during a save leaves the previous
      files complete. A failed write raises an OSError starting with the path and the OS reason.
    * ``get_checkpoint_file`` (what ``resume_or_load(..., resume=True)`` resumes from) is the file
      ``last_checkpoint`` names if it loads; if ``last_checkpoint`` is missing, empty or names a
      file that does not load, it is the newest ``model_*.pth`` in ``save_dir`` that loads, with a
      warning saying which file and why. If none loads, a CheckpointLoadError lists each reason.
    * files load through :func:`load_checkpoint_file`: ``torch.load(weights_only=True)`` for
      ``.pth``, a restricted unpickler for detectron2 model-zoo ``.pkl``; an empty, text or
      truncated file is a CheckpointLoadError naming the file and what was expected.
    * ``incompatible`` holds the missing / unexpected / shape-mismatched keys of the last model load
      (see :func:`hardseg.checkpoint.load_model_weights`, which refuses partial loads).
    """

    def __init__(self, model, save_dir="", *, save_to_disk=None, **checkpointables):
        super().__init__(model, save_dir, save_to_disk=save_to_disk, **checkpointables)
        self.incompatible = None
        self._preloaded = None  # (path, data) read while choosing the file to resume from

    # ---------------------------------------------------------------- saving
    def save(self, name: str, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict()}
        for key, obj in self.checkpointables.items():
            data[key] = obj.state_dict()
        data.update(kwargs)
        basename = f"{name}.pth"
        save_file = os.path.join(self.save_dir, basename)
        self.logger.info(f"Saving checkpoint to {save_file}")
        atomic_write(save_file, lambda f: torch.save(data, f))
        self.tag_last_checkpoint(basename)

    def tag_last_checkpoint(self, last_filename_basename: str):
        path = os.path.join(self.save_dir, LAST_CHECKPOINT)
        atomic_write(path, lambda f: f.write(last_filename_basename.encode("utf-8")))

    # ---------------------------------------------------------------- resuming
    def _checkpoint_files(self):
        """``model_*.pth`` in ``save_dir``, newest first (modification time, then name)."""
        if not self.save_dir or not os.path.isdir(self.save_dir):
            return []
        names = [
            n for n in os.listdir(self.save_dir) if n.startswith("model_") and n.endswith(".pth")
        ]

        def age(name):
            return os.path.getmtime(os.path.join(self.save_dir, name)), name

        return sorted(names, key=age, reverse=True)

    def has_checkpoint(self) -> bool:
        return super().has_checkpoint() or bool(self._checkpoint_files())

    def get_checkpoint_file(self) -> str:
        tag = os.path.join(self.save_dir, LAST_CHECKPOINT)
        named, reasons = "", []
        if os.path.exists(tag):
            try:
                with open(tag) as f:
                    named = f.read().strip()
            except OSError as e:
                reasons.append(f"{tag} cannot be read ({e})")
            if not named and not reasons:
                reasons.append(f"{tag} is empty (a save was interrupted)")
        else:
            reasons.append(f"{tag} does not exist")
        order = ([named] if named else []) + [n for n in self._checkpoint_files() if n != named]
        for name in order:
            path = os.path.join(self.save_dir, name)
            try:
                data = self._load_file(path)
            except CheckpointLoadError as e:
                reasons.append(str(e))
                continue
            if name != named:
                self.logger.warning(
                    f"Resuming from {path}, the newest checkpoint in {self.save_dir} that loads, "
                    "because " + "; ".join(reasons)
                )
            self._preloaded = (path, data)  # the load() that follows reuses it
            return path
        raise CheckpointLoadError(
            f"--resume: no checkpoint in {self.save_dir} loads: " + "; ".join(reasons) + ". "
            "Remove the broken files, or start afresh without --resume or in a new OUTPUT_DIR."
        )

    # ---------------------------------------------------------------- loading
    def load(self, path: str, *args, **kwargs):
        if path and "://" not in path and not os.path.isfile(path):
            raise CheckpointLoadError(f"{path}: no such file; {EXPECTED}.")
        return super().load(path, *args, **kwargs)

    def _load_file(self, filename: str):
        if self._preloaded is not None and self._preloaded[0] == filename:
            data, self._preloaded = self._preloaded[1], None
            return data
        data = load_checkpoint_file(filename)
        if not isinstance(data, dict):
            raise CheckpointLoadError(
                f"{filename}: holds a {type(data).__name__}; expected a dict (a state dict, or "
                "a checkpoint with a 'model' state dict)."
            )
        if filename.endswith(".pkl"):
            if "model" in data and "__author__" in data:  # detectron2 model-zoo format
                self.logger.info(f"Reading a file from '{data['__author__']}'")
                return data
            # Caffe2 / Detectron1 model zoo: detection models keep their weights under "blobs"
            blobs = data.get("blobs", data)
            blobs = {k: v for k, v in blobs.items() if not k.endswith("_momentum")}
            return {"model": blobs, "__author__": "Caffe2", "matching_heuristics": True}
        if filename.endswith(".pyth"):  # pycls ImageNet checkpoints
            if "model_state" not in data:
                raise CheckpointLoadError(f"{filename}: a pycls .pyth file needs 'model_state'.")
            state = {
                k: v
                for k, v in data["model_state"].items()
                if not k.endswith("num_batches_tracked")
            }
            return {"model": state, "__author__": "pycls", "matching_heuristics": True}
        return data if "model" in data else {"model": data}

    def _load_model(self, checkpoint):
        self.incompatible = super()._load_model(checkpoint)
        return self.incompatible
