"""Typed actions: what a button does, as a frozen dataclass, and one codec to ≤64 bytes and back.

A journey declares its actions beside its flow, one line each
(`ShowSection = declare("book", "s", "ShowSection", group=BookGroup)`: a frozen dataclass); the
engine encodes the options a flow returns and decodes what a person pressed. A button carries
a short key of its own, so the engine can tell a second tap on the same button from a new one
(`Tap`). Anything that does not decode to a known action with valid fields is stale: an old
message's button, or data nobody of ours wrote.

Wire form: `journey.kind:field:field~key`, fields as text (ints in decimal, enums by value,
sets of enums joined by `.`, booleans `1`/`0`, None empty), 1–64 bytes as chat buttons allow.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

LIMIT = 64  # a chat button's data: 1-64 bytes (DOMAIN.md, channels)
_RESERVED = (":", "~")


class Action:
    """Base of every typed action: `journey` and `kind` are set by `@action`.

    `once`: a state-changing button (log out, save, toggle): a repeat of the same button is
    never applied twice, however late. Other buttons (navigation) are idempotent: only a repeat
    within a moment is taken as a double tap.
    `answers_step`: the action answers one question of a journey (its `step` field); the engine
    refuses it as stale once the journey has moved on. `in_journey`: it only means something
    while its journey is in progress (a "stop" button), stale after.
    """

    journey: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    once: ClassVar[bool] = False
    answers_step: ClassVar[bool] = False
    in_journey: ClassVar[bool] = False


_ACTIONS: dict[tuple[str, str], type[Action]] = {}


def declare(journey: str, kind: str, type_name: str, /, *, once: bool = False, answers_step: bool = False,
            in_journey: bool = False, **fields: Any) -> type[Action]:
    """A journey's action: a frozen dataclass `type_name` with `fields` (a type, or a (type,
    default) pair), known on the wire as `journey.kind`."""
    key = (journey, kind)
    if key in _ACTIONS:
        raise ValueError(f"action {journey}.{kind} is declared twice")
    specs = [(field, *spec) if isinstance(spec, tuple) else (field, spec) for field, spec in fields.items()]
    specs = [(f, t, dataclasses.field(default=d[0])) if d else (f, t) for f, t, *d in specs]
    cls = dataclasses.make_dataclass(type_name, specs, bases=(Action,), frozen=True)
    cls.journey, cls.kind, cls.once = journey, kind, once
    cls.answers_step, cls.in_journey = answers_step, in_journey or answers_step
    if answers_step and "step" not in fields:
        raise TypeError(f"{type_name} answers a step: it needs a `step` field")
    _ACTIONS[key] = cls
    return cls


class Stale(Exception):
    """Data that is no action of ours (any more)."""


@dataclass(frozen=True)
class Tap:
    """A pressed button: the action and the button's own key."""

    action: Action
    key: str


# --- Fields to text and back -----------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, frozenset):
        return ".".join(sorted(_text(item) for item in value))
    text = str(value)
    if any(mark in text for mark in _RESERVED):
        raise ValueError(f"an action's field cannot hold {_RESERVED}: {text!r}")
    return text


def _parse(kind: Any, text: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if text == "" and len(options) < len(typing.get_args(kind)):
            return None
        return _parse(options[0], text)
    if origin is frozenset:
        (item,) = typing.get_args(kind)
        return frozenset(_parse(item, part) for part in text.split(".") if part)
    if kind is bool:
        if text not in ("0", "1"):
            raise ValueError(text)
        return text == "1"
    if kind is int:
        if not text.lstrip("-").isdigit() or len(text) > 18:
            raise ValueError(text)
        return int(text)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(text)
    if kind is str:
        return text
    raise TypeError(f"no codec for {kind!r}")


@cache
def _fields(cls: type[Action]) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))  # type: ignore[arg-type]


# --- The codec ------------------------------------------------------------------------------------

def known() -> list[tuple[str, str]]:
    """Every (journey, kind) declared: what data may name."""
    return sorted(_ACTIONS)


def new_key() -> str:
    """A button's own key: 6 URL-safe characters, enough to tell buttons of one person apart."""
    return secrets.token_urlsafe(4)[:6]


def encode(chosen: Action, key: str | None = None) -> str:
    head = f"{chosen.journey}.{chosen.kind}"
    values = [_text(getattr(chosen, name)) for name, _ in _fields(type(chosen))]
    data = ":".join([head, *values]) + f"~{key or new_key()}"
    if not 1 <= len(data.encode()) <= LIMIT:
        raise ValueError(f"action longer than {LIMIT} bytes: {data!r}")
    return data


def decode(data: str) -> Tap:
    """The tap a button's data stands for; `Stale` for anything that is not one of ours."""
    body, _, key = (data or "").partition("~")
    head, *values = body.split(":")
    journey, _, kind = head.partition(".")
    cls = _ACTIONS.get((journey, kind))
    if cls is None or not key:
        raise Stale(data)
    fields = _fields(cls)
    if len(values) != len(fields):
        raise Stale(data)
    try:
        parsed = {name: _parse(kind_, text) for (name, kind_), text in zip(fields, values, strict=True)}
        return Tap(cls(**parsed), key)
    except (ValueError, TypeError, KeyError):
        raise Stale(data) from None




# Start a journey from a button (a menu entry, "back to the book"): the engine starts it.
Open = declare("go", "", "Open", name=str)


__all__ = ["LIMIT", "Action", "Open", "Stale", "Tap", "declare", "decode", "encode", "known", "new_key"]
