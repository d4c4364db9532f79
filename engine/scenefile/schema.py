"""A scene-file table is checked against the dataclass it fills: a key is accepted iff it is a
field, its value must fit the field's type hint (str, bool, int, float, X | None, list[X],
tuple[X, ...], tuple[X, X, X]), floats must be finite, and field metadata adds bounds ("min",
"max": inclusive; "above": exclusive) or a "check" callable that raises ValueError with a message.
So a new option is one field, and a file accepts exactly what the code reads."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, Callable

from engine.errors import NeuroscapeError

_NUM = (float, int)
_NAMES = {str: "str", bool: "bool", int: "int", float: "float or int"}


class OptionError(NeuroscapeError, ValueError):
    """An option given from Python (not a file) that its dataclass does not accept."""


@dataclass(frozen=True)
class Rule:
    """What one field accepts: scalars of ``scalars``, and/or a list of ``elem`` (``length`` long)."""

    scalars: tuple = ()
    elem: "Rule | None" = None
    length: int | None = None
    as_tuple: bool = False   # a list fills the field as a tuple
    lo: float | None = None
    hi: float | None = None
    above: float | None = None
    check: Callable | None = None

    @property
    def text(self) -> str:
        parts = [_NAMES[t] for t in self.scalars if t in _NAMES and not (t is int and float in self.scalars)]
        if self.elem is not None:
            noun = "numbers" if self.elem.scalars == _NUM else f"{self.elem.text}s"
            parts.append(f"a list of {self.length} {noun}" if self.length else f"a list of {noun}")
        return " or ".join(parts)


def _scalars(tp) -> tuple:
    return {bool: (bool,), int: (int,), float: _NUM, str: (str,)}.get(tp, ())


def _rule(tp, meta) -> Rule | None:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    options = [a for a in args if a is not type(None)] if origin in (typing.Union, types.UnionType) else [tp]
    scalars: tuple = ()
    elem, length, as_tuple = None, None, False
    for t in options:
        o, a = typing.get_origin(t), typing.get_args(t)
        if o in (list, tuple) and a:
            elem = _rule(a[0], {})
            length = len(a) if o is tuple and a[-1] is not Ellipsis else None
            as_tuple = o is tuple
        else:
            scalars += _scalars(t)
    if not scalars and elem is None:
        return None          # not expressible in TOML (e.g. an nn.Module): not a file key
    return Rule(scalars, elem, length, as_tuple, meta.get("min"), meta.get("max"), meta.get("above"),
                meta.get("check"))


def rules_of(cls) -> dict[str, Rule]:
    """Field name -> Rule for the fields of dataclass ``cls`` a file can set."""
    hints = typing.get_type_hints(cls)
    return {f.name: r for f in fields(cls) for r in [_rule(hints[f.name], f.metadata)] if r is not None}


def _fits(rule: Rule, v: Any) -> bool:
    if isinstance(v, list):
        return rule.elem is not None and (rule.length is None or len(v) == rule.length) \
            and all(problem(rule.elem, x) is None for x in v)
    if isinstance(v, bool):
        return bool in rule.scalars
    return isinstance(v, rule.scalars) if rule.scalars else False


def problem(rule: Rule, v: Any) -> str | None:
    """Why ``v`` does not fit ``rule`` (the text after "must be"), or None."""
    if not _fits(rule, v):
        return f"{rule.text}, got {repr(v) if isinstance(v, list) else type(v).__name__}"
    if isinstance(v, float) and not math.isfinite(v):
        return f"a finite number, got {v}"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if rule.lo is not None and rule.hi is not None and not rule.lo <= v <= rule.hi:
            return f"in [{rule.lo:g}, {rule.hi:g}], got {v}"
        if rule.lo is not None and rule.hi is None and v < rule.lo:
            return f">= {rule.lo:g}, got {v}"
        if rule.hi is not None and rule.lo is None and v > rule.hi:
            return f"<= {rule.hi:g}, got {v}"
        if rule.above is not None and not v > rule.above:
            return f"> {rule.above:g}, got {v}"
    if rule.check is not None:
        try:
            rule.check(v)
        except ValueError as e:
            return f"valid ({e})"
    return None


def fill(cls, table: dict):
    """An instance of dataclass ``cls`` from a table (checked by the same rules as a file: a table
    built in Python gets the same errors), lists as tuples where the field is a tuple, ints as
    floats where the field (or its elements) is a float."""
    rules = rules_of(cls)
    kw = {}
    for k, v in table.items():
        r = rules.get(k)
        if r is None:
            raise OptionError(f"unknown option {k!r} for {cls.__name__}: use one of {', '.join(rules)}")
        why = problem(r, v)
        if why:
            raise OptionError(f"{cls.__name__}.{k} must be {why}")
        if isinstance(v, list):
            v = [float(x) if r.elem.scalars == _NUM and not isinstance(x, bool) else x for x in v]
            v = tuple(v) if r.as_tuple else v
        elif r.scalars == _NUM and not isinstance(v, bool):
            v = float(v)
        kw[k] = v
    return cls(**kw)
