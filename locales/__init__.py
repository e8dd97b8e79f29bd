"""Translations: every user-facing string lives in ``locales/<lang>/*.ftl`` (Project Fluent).

``Translator`` loads every .ftl file of every language folder once. Arguments are inserted
verbatim (Telegram HTML is built by the caller, which escapes every value it passes in).
"""
from __future__ import annotations

import re
from pathlib import Path

from fluent.runtime import FluentBundle, FluentResource
from fluent.runtime.types import FluentNone
from fluent.syntax import FluentParser, ast

ROOT = Path(__file__).resolve().parent
DEFAULT_LANGUAGE = "en"
_PLACEABLE = re.compile(r"\{\s*\$([A-Za-z0-9_-]+)")


class Translator:
    def __init__(self, root: Path = ROOT) -> None:
        self._bundles: dict[str, FluentBundle] = {}
        self._sources: dict[str, dict[str, str]] = {}
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            files = sorted(folder.glob("*.ftl"))
            if not files:
                continue
            bundle = FluentBundle([folder.name], use_isolating=False)
            sources: dict[str, str] = {}
            for f in files:
                text = f.read_text(encoding="utf-8")
                bundle.add_resource(FluentResource(text))  # reports nothing: the parse below judges the file
                resource = FluentParser().parse(text)  # with spans (the parser's default)
                for entry in resource.body:
                    if isinstance(entry, ast.Junk):
                        raise ValueError(f"{f}: cannot parse {(entry.content or '')[:60]!r}")
                    if isinstance(entry, ast.Message) and entry.span is not None:
                        sources[entry.id.name] = text[entry.span.start:entry.span.end]
            self._bundles[folder.name] = bundle
            self._sources[folder.name] = sources
        if DEFAULT_LANGUAGE not in self._bundles:
            raise ValueError(f"no {DEFAULT_LANGUAGE} translations under {root}")

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._bundles)

    def normalize(self, lang: str | None) -> str:
        """'id', 'id-ID', 'en-GB' -> a language we have; anything else -> English."""
        code = (lang or "").split("-")[0].split("_")[0].lower()
        return code if code in self._bundles else DEFAULT_LANGUAGE

    def get(self, lang: str, key: str, **args: object) -> str:
        for code in (lang, DEFAULT_LANGUAGE):
            bundle = self._bundles.get(code)
            if bundle is not None and bundle.has_message(key):
                pattern = bundle.get_message(key).value
                if pattern is None:  # a message with attributes only
                    continue
                text, _errors = bundle.format_pattern(pattern, args)
                return _plain(text)
        raise KeyError(f"no translation for {key!r}")

    def attribute(self, lang: str, key: str, attr: str, **args: object) -> str:
        for code in (lang, DEFAULT_LANGUAGE):
            bundle = self._bundles.get(code)
            if bundle is not None and bundle.has_message(key):
                msg = bundle.get_message(key)
                if attr in msg.attributes:
                    text, _errors = bundle.format_pattern(msg.attributes[attr], args)
                    return _plain(text)
        raise KeyError(f"no translation for {key}.{attr}")

    def keys(self, lang: str) -> set[str]:
        return set(self._sources.get(lang, {}))

    def placeholders(self, lang: str, key: str) -> set[str]:
        return set(_PLACEABLE.findall(self._sources[lang][key]))


def _plain(text: str | FluentNone) -> str:
    """A formatted pattern is text; fluent's FluentNone (a cyclic reference) reads as its own
    error marker."""
    return text if isinstance(text, str) else "{???}"


_default: Translator | None = None


def translator() -> Translator:
    global _default
    if _default is None:
        _default = Translator()
    return _default
