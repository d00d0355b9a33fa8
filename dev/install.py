#!/usr/bin/env python3
"""Install HardSeg and everything it needs into a virtual environment.

Runs with the system Python (standard library only) and talks to the package registries through
pip, so nothing is fetched from anywhere else. Steps, each printed as it runs:

1. create the virtual environment (``.venv`` in the checkout, or ``--venv`` / ``$HARDSEG_VENV``);
2. install torch / torchvision at the pinned versions, plus the build tools;
3. make detectron2 importable. A detectron2 that already imports (for example one built from
   source with its CUDA ops) is kept. Otherwise the ``pb1-detectron2==0.6`` source release (a
   byte-identical copy of detectron2 v0.6's Python files) is downloaded, its sha256 checked, and a
   pure-Python wheel is built from it with :func:`patch_detectron2_source` (no C++ extension, a
   placeholder ``detectron2._C``, and the compatibility edits upstream made after v0.6 for
   Pillow >= 10 and numpy 2). The wheel is cached in ``~/.cache/hardseg/wheels``;
4. install HardSeg itself (editable) with every dependency held by ``requirements/constraints.txt``.

A stamp file in the environment records the hash of the inputs above; when nothing changed and the
imports still work, re-running returns after one check.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
TORCH_PINS = ["torch==2.14.1", "torchvision==0.29.1"]
BUILD_TOOLS = ["setuptools>=77.0.3,<81", "wheel"]

D2_SDIST_NAME = "pb1-detectron2"
D2_SDIST_VERSION = "0.6"
D2_SDIST_SHA256 = "5d2e9e51e523ec72f6a31cca04b0a515492e9514b773a3d134cedc0677170b29"
# Bump when patch_detectron2_source changes, so cached wheels are rebuilt.
D2_PATCH_LEVEL = "2"
D2_LOCAL_VERSION = f"+hardseg{D2_PATCH_LEVEL}"

PLACEHOLDER_C = '''"""Placeholder for detectron2's compiled extension.

This detectron2 was built by HardSeg's dev/install.py as a pure-Python wheel: the C++/CUDA ops
(rotated boxes, detectron2's own deformable convolution, the fast COCO evaluator) are not in it.
Semantic segmentation uses none of them. Any use raises a RuntimeError that says so; the three
build-information queries of detectron2.utils.collect_env answer truthfully instead.
"""


def get_compiler_version():
    return "none: pure-Python build without detectron2._C ops"


def get_cuda_version():
    return "none: pure-Python build without detectron2._C ops"


def has_cuda():
    return False


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def _not_available(*args, **kwargs):
        raise RuntimeError(
            f"detectron2._C.{name} is not available in this build of detectron2: HardSeg's "
            "dev/install.py builds it without the C++/CUDA extension. Build detectron2 from "
            "source (with its extension) into this environment if you need this op; "
            "dev/install.py keeps a detectron2 that already imports."
        )

    return _not_available
'''


def step(msg):
    print(f"[hardseg-install] {msg}", flush=True)


def run(cmd, **kwargs):
    print("  $ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def succeeds(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True).returncode == 0


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_digest():
    h = hashlib.sha256()
    for p in [Path(__file__).resolve(), CONSTRAINTS, REPO / "setup.py"]:
        h.update(p.read_bytes())
    return h.hexdigest()


def patch_detectron2_source(src: Path):
    """Edit an unpacked detectron2 v0.6 source tree in place so it builds as a pure-Python wheel
    that works with Pillow >= 10 and numpy 2.x. Each edit matches one upstream made after v0.6."""
    setup_py = src / "setup.py"
    text = setup_py.read_text()
    # No C++ extension (the sdist lacks its sources anyway).
    text = text.replace("ext_modules=get_extensions(),", "ext_modules=[],")
    text = text.replace('cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension},', "")
    # black 21.4b2 no longer imports with current click; LazyConfig.save only needs any black.
    text = text.replace('"black==21.4b2",', '"black",')
    # caffe2-only dependencies.
    text = text.replace('"future",  # used by caffe2', "").replace(
        '"pydot",  # used to save caffe2 SVGs', ""
    )
    setup_py.write_text(text)
    (src / "detectron2" / "_C.py").write_text(PLACEHOLDER_C)

    # setup.py packages the model-zoo configs from ./configs; the sdist has them in the package.
    zoo = src / "detectron2" / "model_zoo" / "configs"
    if zoo.is_dir() and not zoo.is_symlink() and not (src / "configs").exists():
        shutil.move(str(zoo), str(src / "configs"))

    numpy_alias = re.compile(r"\bnp\.(int|float|bool|str)\b(?!_)")
    for py in (src / "detectron2").rglob("*.py"):
        old = py.read_text()
        new = numpy_alias.sub(r"\1", old)
        new = new.replace("interp=Image.LINEAR", "interp=Image.BILINEAR")
        new = new.replace("np.array(mask, copy=False)", "np.asarray(mask)")
        if new != old:
            py.write_text(new)


def build_detectron2_wheel(python: Path, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob(f"pb1_detectron2-{D2_SDIST_VERSION}{D2_LOCAL_VERSION}-*.whl"))
    if wheels:
        step(f"using the cached detectron2 wheel {wheels[-1]}")
        return wheels[-1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        step(f"downloading the {D2_SDIST_NAME}=={D2_SDIST_VERSION} source release")
        # --no-build-isolation: its setup.py imports torch, which the environment has by now.
        run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--no-build-isolation",
                "-d",
                tmp,
                f"{D2_SDIST_NAME}=={D2_SDIST_VERSION}",
            ]
        )
        sdist = next(tmp.glob("*.tar.gz"))
        digest = sha256_of(sdist)
        if digest != D2_SDIST_SHA256:
            sys.exit(
                f"[hardseg-install] {sdist.name}: sha256 {digest} does not match the "
                f"expected {D2_SDIST_SHA256}; refusing to build it."
            )
        step(f"sha256 of {sdist.name} verified")
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        src = tmp / f"{D2_SDIST_NAME}-{D2_SDIST_VERSION}"
        step("patching detectron2 v0.6: pure-Python build, placeholder _C, Pillow>=10 / numpy 2")
        patch_detectron2_source(src)
        step("building the detectron2 wheel")
        env = dict(os.environ, D2_VERSION_SUFFIX=D2_LOCAL_VERSION)
        run(
            [
                python,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                tmp / "dist",
                src,
            ],
            env=env,
        )
        built = next((tmp / "dist").glob("*.whl"))
        shutil.copy(built, cache / built.name)
        return cache / built.name


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--venv",
        default=os.environ.get("HARDSEG_VENV", str(REPO / ".venv")),
        help="virtual environment to create or reuse (default: .venv in the "
        "checkout, or $HARDSEG_VENV)",
    )
    parser.add_argument("--force", action="store_true", help="ignore the up-to-date stamp")
    args = parser.parse_args()
    start = time.time()

    env_dir = Path(args.venv).resolve()
    python = env_dir / "bin" / "python"
    stamp = env_dir / ".hardseg-install-stamp"
    digest = inputs_digest()
    if (
        not args.force
        and stamp.is_file()
        and stamp.read_text() == digest
        and succeeds([python, "-c", "import hardseg, detectron2"])
    ):
        step(f"{env_dir} is up to date")
        return

    if not python.exists():
        step(f"creating the virtual environment {env_dir}")
        venv.create(env_dir, with_pip=True)
    else:
        step(f"using the virtual environment {env_dir}")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]

    step("installing torch / torchvision (pinned) and build tools")
    run(pip + ["install", "-q", "-c", CONSTRAINTS] + TORCH_PINS + BUILD_TOOLS)

    if succeeds([python, "-c", "import detectron2"]):
        where = subprocess.run(
            [
                python,
                "-c",
                "import detectron2; print(detectron2.__version__, " "detectron2.__file__)",
            ],
            capture_output=True,
            text=True,
        ).stdout
        step(f"keeping the detectron2 already installed: {where.strip()}")
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hardseg/wheels"
        wheel = build_detectron2_wheel(python, cache)
        step("installing detectron2")
        run(pip + ["install", "-q", "-c", CONSTRAINTS, wheel])

    step("installing HardSeg (editable) and its dependencies")
    run(pip + ["install", "-q", "--no-build-isolation", "-c", CONSTRAINTS, "-e", f"{REPO}[test]"])

    step("checking the imports")
    run(
        [
            python,
            "-c",
            "import torch, detectron2, hardseg; "
            "print('torch', torch.__version__, '| detectron2', detectron2.__version__, "
            "'| hardseg', hardseg.__version__)",
        ]
    )
    stamp.write_text(digest)
    step(f"done in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
