"""Generate the state-dict key lists (name -> shape) of the official mmseg 0.28 HRNet, FCN-HR,
OCRNet and CAC modules, for tests/modeling/data/mmseg_hrnet_keys.json.gz.

Runs the official module definitions (CVIU-CSU/Confidence-Aware-Contrastive-Loss @278b0ec:
mmseg/models/backbones/{hrnet,resnet}.py, decode_heads/{decode_head,cascade_decode_head,fcn_head,
ocr_head,cac_fcn_head,cac_ocr_head}.py, utils/self_attention_block.py) on the meta device with
small stand-ins for the mmcv pieces they import (conv/norm builders, ConvModule with mmcv's
``conv``/``bn`` names and bias='auto' rule, BaseModule). Needs only torch.

    python dev/mmseg_reference_keys.py /path/to/official/git/dir out.json.gz
"""

import gzip
import json
import subprocess
import sys
import types

import torch
from torch import nn
from torch.nn import functional as F

FILES = {
    "mmseg.models.backbones.resnet": "mmseg/models/backbones/resnet.py",
    "mmseg.models.backbones.hrnet": "mmseg/models/backbones/hrnet.py",
    "mmseg.models.utils.self_attention_block": "mmseg/models/utils/self_attention_block.py",
    "mmseg.models.decode_heads.decode_head": "mmseg/models/decode_heads/decode_head.py",
    "mmseg.models.decode_heads.cascade_decode_head": "mmseg/models/decode_heads/cascade_decode_head.py",
    "mmseg.models.decode_heads.fcn_head": "mmseg/models/decode_heads/fcn_head.py",
    "mmseg.models.decode_heads.ocr_head": "mmseg/models/decode_heads/ocr_head.py",
    "mmseg.models.decode_heads.cac_fcn_head": "mmseg/models/decode_heads/cac_fcn_head.py",
    "mmseg.models.decode_heads.cac_ocr_head": "mmseg/models/decode_heads/cac_ocr_head.py",
}


class _Registry:
    def register_module(self, *a, **k):
        return lambda cls: cls


def _norm(cfg, channels, postfix=""):
    return f"bn{postfix}", nn.BatchNorm2d(channels)


def _conv(cfg, *args, **kwargs):
    return nn.Conv2d(*args, **kwargs)


class ConvModule(nn.Module):
    """mmcv's ConvModule names: conv, bn (BN/SyncBN), activate; bias='auto' = no norm."""

    def __init__(
        self,
        cin,
        cout,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias="auto",
        conv_cfg=None,
        norm_cfg=None,
        act_cfg=dict(type="ReLU"),
        **kw,
    ):
        super().__init__()
        if bias == "auto":
            bias = norm_cfg is None
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, dilation, groups, bias=bias)
        if norm_cfg is not None:
            self.bn = nn.BatchNorm2d(cout)
        if act_cfg is not None:
            self.activate = nn.ReLU()


class BaseModule(nn.Module):
    def __init__(self, init_cfg=None):
        super().__init__()
        self.init_cfg = init_cfg


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    m.__path__ = []
    sys.modules[name] = m
    return m


def _install_stubs():
    ident = lambda *a, **k: (lambda f: f)
    _module("mmcv")
    _module(
        "mmcv.cnn",
        build_conv_layer=_conv,
        build_norm_layer=_norm,
        ConvModule=ConvModule,
        build_plugin_layer=None,
        constant_init=lambda *a, **k: None,
    )
    _module(
        "mmcv.runner",
        BaseModule=BaseModule,
        ModuleList=nn.ModuleList,
        Sequential=nn.Sequential,
        auto_fp16=ident,
        force_fp32=ident,
    )
    _module("mmcv.utils")
    _module("mmcv.utils.parrots_wrapper", _BatchNorm=nn.modules.batchnorm._BatchNorm)
    _module("mmseg")
    _module("mmseg.core", build_pixel_sampler=lambda cfg, context=None: None)
    _module("mmseg.ops", Upsample=nn.Upsample, resize=F.interpolate)
    _module("mmseg.models")
    _module(
        "mmseg.models.builder",
        BACKBONES=_Registry(),
        HEADS=_Registry(),
        build_loss=lambda cfg: nn.Identity(),
    )
    _module("mmseg.models.losses", accuracy=None)
    _module("mmseg.models.backbones")
    _module("mmseg.models.decode_heads")
    _module("mmseg.models.utils", ResLayer=object)


def _load(git_dir):
    for name, path in FILES.items():
        src = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"HEAD:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        parent = name.rsplit(".", 1)[0]
        mod = _module(name)
        mod.__package__ = parent
        exec(compile(src, path, "exec"), mod.__dict__)
        if name.endswith("self_attention_block"):
            sys.modules["mmseg.models.utils"].SelfAttentionBlock = mod.SelfAttentionBlock


def _extra(w):
    def stage(m, n):
        return dict(
            num_modules=m,
            num_branches=n,
            block="BASIC",
            num_blocks=(4,) * n,
            num_channels=tuple(w * 2**i for i in range(n)),
        )

    return dict(
        stage1=dict(
            num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(4,), num_channels=(64,)
        ),
        stage2=stage(1, 2),
        stage3=stage(4, 3),
        stage4=stage(3, 4),
    )


def _keys(module, prefix):
    return {prefix + k: list(v.shape) for k, v in module.state_dict().items()}


def main(git_dir, out):
    _install_stubs()
    _load(git_dir)
    hr = sys.modules["mmseg.models.backbones.hrnet"]
    heads = sys.modules["mmseg.models.decode_heads"]
    fcn = sys.modules["mmseg.models.decode_heads.fcn_head"].FCNHead
    ocr = sys.modules["mmseg.models.decode_heads.ocr_head"].OCRHead
    cac_fcn = sys.modules["mmseg.models.decode_heads.cac_fcn_head"].CACFCNHead
    cac_ocr = sys.modules["mmseg.models.decode_heads.cac_ocr_head"].CACOCRHead
    norm = dict(type="SyncBN", requires_grad=True)
    result = {}
    with torch.device("meta"):
        for w in (18, 32, 48):
            result[f"hrnetv2_w{w}"] = _keys(hr.HRNet(_extra(w), norm_cfg=norm), "")
        chans = [48, 96, 192, 384]
        common = dict(
            in_channels=chans,
            in_index=(0, 1, 2, 3),
            input_transform="resize_concat",
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss"),
        )
        fcn_args = dict(common, channels=720, kernel_size=1, num_convs=1, concat_input=False)
        result["fcn_hr48_head"] = _keys(fcn(**fcn_args), "decode_head.")
        result["cac_fcn_hr48_head"] = _keys(
            cac_fcn(proj_channel=256, weight=1.5, **fcn_args), "decode_head."
        )
        ocr_args = dict(common, channels=512, ocr_channels=256)
        result["ocr_hr48_head"] = _keys(ocr(**ocr_args), "decode_head.1.")
        result["cac_ocr_hr48_head"] = _keys(
            cac_ocr(proj_channel=256, weight=1.5, **ocr_args), "decode_head.1."
        )
        result["ocr_hr48_stage1"] = {
            k.replace("decode_head.", "decode_head.0.", 1): v
            for k, v in result["fcn_hr48_head"].items()
        }
    with gzip.open(out, "wt") as f:
        json.dump(result, f, sort_keys=True)
    for k, v in result.items():
        print(k, len(v), sum(int(torch.tensor(s).prod()) if s else 1 for s in v.values()))


if __name__ == "__main__":
    main(*sys.argv[1:])
