"""Loading rule profiles: the bundled YAML files, then optional overrides from a directory.

Every failure is a ``ProfileError`` that names the file, the first failing key as a dotted
path (``sharing.provider_reply.days``) and the reason, so that a bad profile stops start-up
with a message an operator can act on. Nothing is cached: each call reads the files again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from govshare.rules.schema import RuleConflict, RuleProfile

PROFILE_NAMES = ("default", "suqian", "shuozhou", "yixing", "hubei", "neixiang")
BUNDLED_DIR = Path(__file__).resolve().parent / "profiles"
SUFFIX = ".yaml"

DOCUMENT = "(document)"  # the key reported when the whole file is at fault


class ProfileError(Exception):
    """A rule profile that cannot be read or does not match the schema."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        super().__init__(f"rule profile {file}: key '{key}': {reason}")

    def __str__(self) -> str:
        return f"rule profile {self.file}: key '{self.key}': {self.reason}"


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


# libyaml's parser when PyYAML was built with it (several times faster, and every process
# start reads every profile) with the same constructors; a file it refuses is read again
# with the pure-Python one, whose error messages the operator sees
_CSafeLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_FastLoader: type[yaml.SafeLoader] = (
    type("_FastUniqueKeyLoader", (_CSafeLoader,), {}) if _CSafeLoader else _UniqueKeyLoader
)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


for _loader in (_UniqueKeyLoader, _FastLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _reason(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (not part of the rule-profile schema)"
    conflict = error.get("ctx", {}).get("error")
    if isinstance(conflict, RuleConflict):
        return conflict.reason
    return f"{error['msg']} (got {error['input']!r})"


def _from_validation(file: str, exc: ValidationError) -> ProfileError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    conflict = error.get("ctx", {}).get("error")
    if isinstance(conflict, RuleConflict):
        loc = (*loc, *conflict.key.split("."))
    return ProfileError(file, _key_path(loc) or DOCUMENT, _reason(error))


def _parse(path: Path, text: str) -> dict[str, Any]:
    file = str(path)
    try:
        try:
            data = yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
        except yaml.YAMLError:
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - as above  # nosec B506
    except _DuplicateKey as exc:
        raise ProfileError(file, exc.key, f"key given twice (line {exc.line})") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(file, DOCUMENT, f"YAML syntax error{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ProfileError(file, DOCUMENT, "the file must hold a YAML mapping")
    return data


def load_profile(path: Path) -> RuleProfile:
    """Read and validate one profile file; its stem must equal its ``name``."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(file, DOCUMENT, f"cannot read the file: {exc}") from None
    data = _parse(path, text)
    try:
        profile = RuleProfile.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(file, exc) from None
    if profile.name != path.stem:
        raise ProfileError(
            file, "name", f"'{profile.name}' must equal the file name stem '{path.stem}'"
        )
    return profile


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == SUFFIX)


def profile_paths(extra_dir: Path | None = None) -> dict[str, Path]:
    """Profile name -> the file that defines it (files in ``extra_dir`` win)."""
    paths = {p.stem: p for p in _files(BUNDLED_DIR)}
    for name in PROFILE_NAMES:
        if name not in paths:
            raise ProfileError(
                str(BUNDLED_DIR / f"{name}{SUFFIX}"), DOCUMENT, "bundled file missing"
            )
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise ProfileError(str(extra_dir), DOCUMENT, "the profile directory does not exist")
        paths.update({p.stem: p for p in _files(extra_dir)})
    order = [*PROFILE_NAMES, *sorted(set(paths) - set(PROFILE_NAMES))]
    return {name: paths[name] for name in order}


def load_profiles(extra_dir: Path | None = None) -> dict[str, RuleProfile]:
    """All bundled profiles, then every ``*.yaml`` in ``extra_dir`` (same name overrides)."""
    return {name: load_profile(path) for name, path in profile_paths(extra_dir).items()}


def profile_source(name: str, extra_dir: Path | None = None) -> str:
    """The text of the file that defines profile ``name``, comments and citations included."""
    path = profile_paths(extra_dir).get(name)
    if path is None:
        raise ProfileError(f"{name}{SUFFIX}", "name", f"no rule profile named '{name}'")
    return path.read_text(encoding="utf-8")


def render_profile(profile: RuleProfile) -> str:
    """The validated profile as YAML (every value, defaults included, in schema order)."""
    return yaml.safe_dump(
        profile.model_dump(mode="json"),
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
    )
