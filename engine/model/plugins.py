"""An ordered table of plug-ins of one sort (model sources, kinds of --input), each under a unique name:
they are asked in the order they were registered."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

__all__ = ["PluginTable"]

T = TypeVar("T")


class PluginTable(Generic[T]):
    def __init__(self, what: str, name: Callable[[T], str]):
        self.what = what  # e.g. "model source", for messages
        self.name = name  # a plug-in's unique name
        self._items: dict[str, T] = {}

    def add(self, item: T) -> T:
        """Register ``item`` after those registered before it; a name registers once."""
        key = self.name(item)
        if key in self._items:
            raise ValueError(f"a {self.what} named {key!r} is already registered; unregister it first or give "
                             f"the new one another name")
        self._items[key] = item
        return item

    def remove(self, item: T) -> None:
        """Forget a registered plug-in."""
        del self._items[self.name(item)]

    def items(self) -> tuple[T, ...]:
        """The plug-ins, in registration order."""
        return tuple(self._items.values())
