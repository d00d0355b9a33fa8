from .defaults import resolve_device, setup_cfg
from .launch import launch, launch_from_args
from .trainer import Trainer, create_ddp_model, evaluate_and_report
