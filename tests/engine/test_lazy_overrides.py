"""LazyConfig overrides of the wrong type fail at load time naming the key and the type."""

import pytest

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import get_config_file

LAZY = get_config_file("lazy/quick_schedules/deeplabv3plus_R18_instant_test.py")


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.max_iter=abc", r"train\.max_iter to 'abc'.*takes an int"),
        ("optimizer.lr=x", r"optimizer\.lr to 'x'.*takes a number"),
        ("train.amp.enabled=1", r"train\.amp\.enabled to 1.*takes a bool"),
    ],
)
def test_wrong_type_is_refused(override, message):
    with pytest.raises(ValueError, match=message):
        load_lazy_config(LAZY, [override])


def test_right_types_are_applied():
    cfg = load_lazy_config(LAZY, ["train.max_iter=4", "optimizer.lr=1", "train.amp.enabled=true"])
    assert (cfg.train.max_iter, cfg.optimizer.lr, cfg.train.amp.enabled) == (4, 1, True)


def test_null_clears_a_value():
    assert load_lazy_config(LAZY, ["train.max_iter=null"]).train.max_iter is None
