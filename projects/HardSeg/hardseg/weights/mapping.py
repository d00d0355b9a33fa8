"""Rule-based key renaming shared by the checkpoint converters."""

import re
from collections import OrderedDict
from typing import Callable, Dict, List, Sequence, Tuple, Union

import torch

Rule = Tuple[str, Union[str, None, Callable]]


class UnmatchedKeysError(KeyError):
    """Keys of a source checkpoint that no rule maps (or that two keys map to one name)."""

    def __str__(self):
        return str(self.args[0])


def apply_rules(
    state_dict: Dict[str, torch.Tensor], rules: Sequence[Rule], source: str
) -> Tuple["OrderedDict[str, torch.Tensor]", List[str]]:
    """Rename every key by the first rule whose pattern matches it (``re.fullmatch``).

    A rule is ``(pattern, replacement)``: a ``re.sub`` template, ``None`` to drop the key (kept in
    the returned list of dropped keys), or a callable ``(match, tensor) -> {new key: tensor}`` for
    keys that split or reshape.

    Raises:
        UnmatchedKeysError: naming the keys that match no rule (``source`` says which release the
            converter expects), or a key produced twice.
    """
    out, dropped, unmatched = OrderedDict(), [], []
    for key, value in state_dict.items():
        for pattern, repl in rules:
            m = re.fullmatch(pattern, key)
            if m is None:
                continue
            if repl is None:
                dropped.append(key)
                new = {}
            elif callable(repl):
                new = repl(m, value)
            else:
                new = {m.expand(repl): value}
            for k, v in new.items():
                if k in out:
                    raise UnmatchedKeysError(f"two {source} keys map to {k!r} (one is {key!r}).")
                out[k] = v
            break
        else:
            unmatched.append(key)
    if unmatched:
        raise UnmatchedKeysError(
            f"{len(unmatched)} keys are not keys of {source}: {unmatched[:10]}"
            + (" ..." if len(unmatched) > 10 else "")
        )
    return out, dropped


def check_against(state_dict: Dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    """Strict comparison of a converted state dict with ``model``'s: raise
    :class:`UnmatchedKeysError` naming missing keys, unexpected keys and shape mismatches."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k}: {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        raise UnmatchedKeysError(
            f"converted weights do not fit the model: missing {missing[:10]}, unexpected "
            f"{unexpected[:10]}, shape mismatches {shapes[:10]}"
        )
