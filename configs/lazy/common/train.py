# Training-loop settings shared by HardSeg's LazyConfig experiments (tools/lazyconfig_train_net.py).
train = dict(
    output_dir="./output",
    init_checkpoint="",  # a local checkpoint path; nothing is downloaded at run time
    max_iter=90000,
    # mixed precision: dtype "bfloat16" (no loss scaling) or "float16" (GradScaler); autocast on
    # the model's device type (hardseg/engine/amp.py)
    amp=dict(enabled=False, dtype="bfloat16"),
    # MODEL.CHANNELS_LAST and MODEL.BACKBONE_ACTIVATION_CHECKPOINT (hardseg/modeling/efficiency.py)
    channels_last=False,
    activation_checkpoint=False,
    ddp=dict(broadcast_buffers=False, find_unused_parameters=False),
    checkpointer=dict(period=5000, max_to_keep=100),
    eval_period=5000,  # 0: evaluate only after training
    log_period=20,
    device="cuda",  # falls back to cpu (with a warning) where CUDA is unavailable
    seed=-1,
    # --eval-only refuses weights that leave model keys missing or give them other shapes (and an
    # empty init_checkpoint); True loads what fits, with a warning.
    allow_partial_weights=False,
    # --resume refuses a model.* change (except model.device) or another optimizer against
    # output_dir/config.yaml; True resumes anyway (only for changes that keep every shape).
    resume_allow_model_change=False,
    # Timeout of collectives (all-reduce, barrier...) with several processes, in minutes; 0: 10 on
    # CPU (gloo), 30 with CUDA (NCCL). Read by the launcher (hardseg/engine/launch.py).
    dist_timeout_minutes=0,
)
