"""Mixed-precision training step for every HardSeg model (``SOLVER.AMP`` / ``train.amp``).

detectron2 v0.6's ``AMPTrainer`` is fp16 and CUDA only. :class:`MixedPrecisionTrainer` autocasts
the forward pass on the model's own device type (``cuda`` or ``cpu``) in bfloat16 or float16, and
scales the loss with a ``GradScaler`` only for float16 (bfloat16 has float32's exponent range, so
its gradients do not underflow). Numerically delicate parts of the models leave autocast locally
("fp32 islands", each commented where it is): HL's normaliser, U2PL's softmax/entropy/percentiles
and queues, CAC's similarity softmax, deformable attention and the losses.
"""

import time

import torch
from torch.nn.parallel import DistributedDataParallel

from detectron2.engine import SimpleTrainer

__all__ = ["MixedPrecisionTrainer", "AMP_DTYPES", "amp_dtype", "build_step_trainer"]

AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def amp_dtype(name: str, key: str = "SOLVER.AMP.DTYPE") -> torch.dtype:
    """The torch dtype named by config value ``name`` of ``key``; a clear error otherwise."""
    if name not in AMP_DTYPES:
        raise ValueError(f"{key}={name!r}: expected one of {sorted(AMP_DTYPES)}.")
    return AMP_DTYPES[name]


def _model_device_type(model) -> str:
    if isinstance(model, DistributedDataParallel):
        model = model.module
    return next(model.parameters()).device.type


class MixedPrecisionTrainer(SimpleTrainer):
    """``SimpleTrainer`` whose forward pass runs under ``torch.autocast(device_type, dtype)``.

    With ``dtype=torch.float16`` the loss is scaled by a ``GradScaler`` (kept under the checkpoint
    key ``grad_scaler``, as detectron2's AMPTrainer keeps it); with bfloat16 there is no scaler and
    the optimizer steps directly.
    """

    def __init__(self, model, data_loader, optimizer, dtype=torch.bfloat16):
        super().__init__(model, data_loader, optimizer)
        if dtype not in AMP_DTYPES.values():
            raise ValueError(f"MixedPrecisionTrainer: dtype {dtype} is not bfloat16 or float16.")
        self.dtype = dtype
        self.device_type = _model_device_type(model)
        self.grad_scaler = (
            torch.amp.GradScaler(self.device_type) if dtype == torch.float16 else None
        )

    def run_step(self):
        assert self.model.training, "[MixedPrecisionTrainer] model was changed to eval mode!"
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start

        with torch.autocast(self.device_type, dtype=self.dtype):
            loss_dict = self.model(data)
        if isinstance(loss_dict, torch.Tensor):
            loss_dict = {"total_loss": loss_dict}
        # the losses are summed in float32 outside autocast
        losses = sum(v.float() for v in loss_dict.values())

        self.optimizer.zero_grad()
        if self.grad_scaler is None:
            losses.backward()
            self._write_metrics(loss_dict, data_time)
            self.optimizer.step()
        else:
            self.grad_scaler.scale(losses).backward()
            self._write_metrics(loss_dict, data_time)
            self.grad_scaler.step(self.optimizer)
            self.grad_scaler.update()

    def state_dict(self):
        ret = super().state_dict()
        if self.grad_scaler is not None:
            ret["grad_scaler"] = self.grad_scaler.state_dict()
        return ret

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        if self.grad_scaler is not None and "grad_scaler" in state_dict:
            self.grad_scaler.load_state_dict(state_dict["grad_scaler"])


def build_step_trainer(model, data_loader, optimizer, *, enabled: bool, dtype: str, key: str):
    """The inner training loop: ``SimpleTrainer`` in fp32, :class:`MixedPrecisionTrainer` with
    ``enabled``. ``key`` names the config key of ``dtype`` in errors."""
    if not enabled:
        return SimpleTrainer(model, data_loader, optimizer)
    return MixedPrecisionTrainer(model, data_loader, optimizer, dtype=amp_dtype(dtype, key))
