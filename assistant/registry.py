"""Named implementations of the seams (generators, embedders, vector stores), chosen by a
setting. The built-ins register here like any plugin would: a plugin module listed in
ASSISTANT_PLUGINS is imported at start-up and registers its own names."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from assistant.errors import ConfigurationError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """Factories by name, for one kind of component."""

    def __init__(
        self,
        kind: str,
        setting: str,
        error: type[ConfigurationError] = ConfigurationError,
        builtins: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.setting = setting
        self._error = error
        # Modules whose components register on import, like any plugin's; imported when
        # a name is first looked up, so importing the registry stays cheap.
        self._builtins = builtins
        self._factories: dict[str, F] = {}
        # "module:function" of built-ins whose libraries take long to import (chromadb,
        # langchain-openai): imported when chosen, never by a command that does not use them.
        self._deferred: dict[str, str] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: make `factory` available under `name` (a later plugin may replace it)."""

        def add(factory: F) -> F:
            self._factories[name] = factory
            self._deferred.pop(name, None)
            return factory

        return add

    def register_deferred(self, name: str, target: str) -> None:
        """Make the factory `module:function` available under `name`, imported only when
        that name is chosen (unless a factory registered under that name already)."""
        if name not in self._factories:
            self._deferred[name] = target

    def names(self) -> list[str]:
        load_plugins(self._builtins)
        return sorted({*self._factories, *self._deferred})

    def factory(self, name: str) -> F:
        load_plugins(self._builtins)
        if name in self._deferred:
            module, _, function = self._deferred[name].partition(":")
            try:
                factory: F = getattr(importlib.import_module(module), function)
            except (ImportError, AttributeError) as error:
                raise self._error(f"{self.kind} {name!r} cannot be loaded: {error}") from None
            return factory
        try:
            return self._factories[name]
        except KeyError:
            raise self._error(
                f"unknown {self.kind} {name!r} ({self.setting}); known: "
                f"{', '.join(self.names())} (a plugin module in ASSISTANT_PLUGINS can add more)"
            ) from None


def load_plugins(modules: Iterable[str]) -> None:
    """Import each plugin module once; importing it registers its components."""
    for module in modules:
        if module in sys.modules:
            continue
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigurationError(
                f"ASSISTANT_PLUGINS names {module!r}, which cannot be imported: {error}"
            ) from None
        log.info("loaded plugin %s", module)
