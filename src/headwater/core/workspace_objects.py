"""What the Workspace API shows of the server's `/Workspace` folder: notebooks, files and
folders, and how each is kept on disk (`engine/workspace_files.py` reads and writes them).

Databricks keeps notebooks apart from files; a folder on disk has only files. The rule that
tells them apart, the same for what the API imports and for what a deploy copies:

- a notebook is a source file with its language's suffix (`.py`, `.sql`, `.scala`, `.r`) whose
  first line is Databricks' header (`# Databricks notebook source`, `-- ...`, `// ...`), or
  any `.ipynb` file (a Jupyter notebook, whose language is Python);
- it is named in the workspace without its suffix: `etl/load.py` holding the header is the
  notebook `etl/load`, as `databricks bundle deploy` names what it uploads and as a job's
  `notebook_path` names it. Should two files claim one name, the file named exactly so wins
  (`etl/load` beside `etl/load.py`), then the suffixes in the order above; a file that loses
  is shown as the file it is (`etl/load.py`, a FILE);
- everything else is a FILE under its own name, and a folder is a DIRECTORY.

What an import makes follows Databricks: SOURCE (a language given) and JUPYTER make the
notebook named by the path as given (`notebook.py` imported as SOURCE is the notebook
`notebook.py`, kept as `notebook.py.py`); AUTO makes a notebook of a source file that begins
with the header, or of an `.ipynb`, named without the suffix, and a FILE of anything else;
RAW makes a FILE. Pure: names, bytes and enums in, decisions out.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from headwater.core.bundle_sync import WORKSPACE, checked_workspace_path

__all__ = ["MAX_OBJECT_BYTES", "NOTEBOOK_SUFFIXES", "TEMPORARY_SUFFIX", "Entry", "ExportFormat",
           "Exported", "ImportFormat", "Language", "Named", "ObjectType", "PlannedImport",
           "Refused", "exported", "is_utf8", "named", "notebook_language", "object_id",
           "object_path", "planned_import", "probed_names", "shown_path"]

MAX_OBJECT_BYTES = 10 * 1024 * 1024  # Databricks' limit on what one import or export carries
TEMPORARY_SUFFIX = ".headwater-tmp"  # a file being written (engine/workspace_files.py)


class ObjectType(StrEnum):
    """What an object of the workspace is (the API's `object_type`)."""

    DIRECTORY = "DIRECTORY"  # a folder
    FILE = "FILE"  # any file that is not a notebook, kept under its own name
    NOTEBOOK = "NOTEBOOK"  # a source file with the header, or an .ipynb


class Language(StrEnum):
    """A notebook's language (the API's `language`)."""

    PYTHON = "PYTHON"  # `.py` with `# Databricks notebook source`, and every `.ipynb`
    SQL = "SQL"  # `.sql` with `-- Databricks notebook source`
    SCALA = "SCALA"  # `.scala` with `// Databricks notebook source`
    R = "R"  # `.r` with `# Databricks notebook source`


class ImportFormat(StrEnum):
    """What `workspace/import` is sent (Databricks' `ImportFormat`)."""

    SOURCE = "SOURCE"  # a notebook's source, in the language the request names
    AUTO = "AUTO"  # a notebook if the suffix and header say so, else a file
    RAW = "RAW"  # a file, as it is
    JUPYTER = "JUPYTER"  # an .ipynb notebook
    HTML = "HTML"  # refused: a rendered notebook
    DBC = "DBC"  # refused: Databricks' archive format
    R_MARKDOWN = "R_MARKDOWN"  # refused


class ExportFormat(StrEnum):
    """What `workspace/export` is asked for (Databricks' `ExportFormat`)."""

    SOURCE = "SOURCE"  # a source notebook's text, or a file's bytes
    AUTO = "AUTO"  # an object as it is kept
    RAW = "RAW"  # an object as it is kept
    JUPYTER = "JUPYTER"  # an .ipynb notebook
    HTML = "HTML"  # refused
    DBC = "DBC"  # refused
    R_MARKDOWN = "R_MARKDOWN"  # refused


SOURCE_SUFFIXES = {Language.PYTHON: ".py", Language.SQL: ".sql", Language.SCALA: ".scala",
                   Language.R: ".r"}
JUPYTER_SUFFIX = ".ipynb"
NOTEBOOK_SUFFIXES = (*SOURCE_SUFFIXES.values(), JUPYTER_SUFFIX)  # in the order names are given
HEADERS = {Language.PYTHON: b"# Databricks notebook source",
           Language.SQL: b"-- Databricks notebook source",
           Language.SCALA: b"// Databricks notebook source",
           Language.R: b"# Databricks notebook source"}
_AUTO_SUFFIXES = {".py": Language.PYTHON, ".sql": Language.SQL, ".scala": Language.SCALA,
                  ".r": Language.R, ".R": Language.R}  # `.R`: what the SDK reads as R


class Refused(ValueError):
    """An import or export that cannot be made as asked; the message says what to send
    instead."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder on disk, in a folder of the workspace: its name, whether it is a
    folder, and the language of the notebook it holds (None: not a notebook)."""

    file_name: str
    folder: bool = False
    language: Language | None = None


@dataclass(frozen=True, slots=True)
class Named:
    """An entry as the workspace shows it: its name there and what it is."""

    name: str
    object_type: ObjectType
    entry: Entry


@dataclass(frozen=True, slots=True)
class PlannedImport:
    """What an import writes: the object's name in its folder, the file keeping it there, and
    the bytes (a source notebook's begin with its header)."""

    name: str
    file_name: str
    object_type: ObjectType
    language: Language | None
    content: bytes


@dataclass(frozen=True, slots=True)
class Exported:
    """How an object is exported: the `file_type` Databricks names (None for a file)."""

    file_type: str | None


def object_path(text: str) -> str | None:
    """`text` as a normal `/Workspace/...` path, `/Workspace` itself included (`/` and
    `/Workspace`; `/Users/...` and `/Shared/...` are read under it, as Databricks does), or None
    for what names no place of the workspace (a name no file system holds included)."""
    if not text.isascii() and not is_utf8(text):
        return None
    if text in ("/", WORKSPACE, WORKSPACE + "/"):
        return WORKSPACE
    if text in ("/Users", "/Shared"):
        text += "/"
    return checked_workspace_path(text)


def is_utf8(text: str) -> bool:
    """Whether `text` is UTF-8 text (a lone surrogate, which JSON can carry, is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_path(path: str, asked: str) -> str:
    """`path` (a normal `/Workspace/...` path) as a client that asked for `asked` writes it:
    Databricks answers `/Users/...` to `/Users/...` and `/Workspace/Users/...` to the other."""
    if asked.startswith(WORKSPACE):
        return path
    return path[len(WORKSPACE):] or "/"


def object_id(path: str) -> int:
    """A stable id for the object at `path` (a normal path): the same after it is overwritten,
    as Databricks keeps it, and below 2**48 so that JavaScript reads it exactly."""
    return int.from_bytes(hashlib.sha256(path.encode()).digest()[:6], "big")


def notebook_language(file_name: str, head: bytes) -> Language | None:
    """The language of the notebook a file named `file_name` that begins with `head` holds, or
    None when it is no notebook."""
    if file_name.endswith(JUPYTER_SUFFIX):
        return Language.PYTHON
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r \t")
    for language, suffix in SOURCE_SUFFIXES.items():
        if file_name.endswith(suffix) and first_line == HEADERS[language]:
            return language
    return None


def _stem(file_name: str) -> tuple[str, int]:
    """A notebook file's name without its suffix, and the suffix's rank."""
    for rank, suffix in enumerate(NOTEBOOK_SUFFIXES):
        if file_name.endswith(suffix):
            return file_name[:-len(suffix)], rank
    raise AssertionError(f"{file_name!r} has no notebook suffix")  # notebook_language said so


def named(entries: Iterable[Entry]) -> list[Named]:
    """Every entry of one folder as the workspace shows it, by name (see the module's rule)."""
    entries = [e for e in entries if not e.file_name.endswith(TEMPORARY_SUFFIX)]
    file_names = {e.file_name for e in entries}
    shown: dict[str, Named] = {}
    notebooks = sorted((e for e in entries if e.language is not None and not e.folder),
                       key=lambda e: (_stem(e.file_name)[1], e.file_name))
    for entry in notebooks:
        stem = _stem(entry.file_name)[0]
        if stem and stem not in file_names and stem not in shown:
            shown[stem] = Named(stem, ObjectType.NOTEBOOK, entry)
    kept_notebooks = {n.entry.file_name for n in shown.values()}
    for entry in entries:
        if entry.file_name not in kept_notebooks:
            kind = ObjectType.DIRECTORY if entry.folder else ObjectType.FILE
            shown[entry.file_name] = Named(entry.file_name, kind, entry)
    return sorted(shown.values(), key=lambda n: n.name)


def probed_names(name: str) -> set[str]:
    """The file names in a folder that decide what `name` is there (what `named` needs to
    find the object `name` without reading the whole folder)."""
    names = {name, *(name + suffix for suffix in NOTEBOOK_SUFFIXES)}
    for suffix in NOTEBOOK_SUFFIXES:
        if name.endswith(suffix):
            stem = name[:-len(suffix)]
            names |= {stem, *(stem + other for other in NOTEBOOK_SUFFIXES)}
    return names


def planned_import(name: str, format: ImportFormat, language: Language | None,
                   content: bytes) -> PlannedImport:
    """What importing `content` as `name` (the last part of its path) in `format` writes.

    Raises:
        Refused: for a format headwater does not read, a SOURCE import without a
            language, an `.ipynb` that is not JSON, or a RAW file that would read back as a
            notebook (the message says which format to send).
    """
    if format in (ImportFormat.HTML, ImportFormat.DBC, ImportFormat.R_MARKDOWN):
        raise Refused(f"format {format} is not supported: import notebooks as SOURCE "
                            "(with a language), AUTO or JUPYTER, and files as AUTO or RAW")
    if name.endswith(TEMPORARY_SUFFIX):
        raise Refused(f"{name!r} ends with {TEMPORARY_SUFFIX}, which names a file being "
                            "written: choose another name")
    if format is ImportFormat.SOURCE:
        if language is None:
            raise Refused("a SOURCE import needs the notebook's language (PYTHON, SQL, "
                                "SCALA or R); or import it as AUTO, which reads a notebook's "
                                "header and makes anything else a file")
        return _source_notebook(name, language, content)
    if format is ImportFormat.JUPYTER:
        return _jupyter_notebook(name, content)
    if format is ImportFormat.AUTO:
        return _automatic(name, content)
    return _raw_file(name, content)


def _source_notebook(name: str, language: Language, content: bytes) -> PlannedImport:
    header = HEADERS[language]
    if content.split(b"\n", 1)[0].rstrip(b"\r \t") != header:
        content = header + b"\n" + content
    return PlannedImport(name, name + SOURCE_SUFFIXES[language], ObjectType.NOTEBOOK,
                         language, content)


def _jupyter_notebook(name: str, content: bytes) -> PlannedImport:
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise Refused(f"{name!r}: the content is not a Jupyter notebook (an .ipynb JSON "
                            "object with \"cells\"); import a file as AUTO or RAW")
    return PlannedImport(name, name + JUPYTER_SUFFIX, ObjectType.NOTEBOOK, Language.PYTHON,
                         content)


def _automatic(name: str, content: bytes) -> PlannedImport:
    if name.endswith(JUPYTER_SUFFIX) and name != JUPYTER_SUFFIX:
        return _jupyter_notebook(name[:-len(JUPYTER_SUFFIX)], content)
    first_line = content.split(b"\n", 1)[0].rstrip(b"\r \t")
    for suffix, language in _AUTO_SUFFIXES.items():
        if name.endswith(suffix) and name != suffix and first_line == HEADERS[language]:
            return _source_notebook(name[:-len(suffix)], language, content)
    return PlannedImport(name, name, ObjectType.FILE, None, content)


def _raw_file(name: str, content: bytes) -> PlannedImport:
    language = notebook_language(name, content[:64])
    if language is not None:
        why = ("an .ipynb file is always a notebook" if name.endswith(JUPYTER_SUFFIX) else
               f"it begins with {HEADERS[language].decode()!r}")
        raise Refused(f"{name!r} would read back as a notebook, not a file: {why}; "
                            "import it as AUTO (or JUPYTER) to make the notebook, or rename it")
    return PlannedImport(name, name, ObjectType.FILE, None, content)


def exported(object_type: ObjectType, file_name: str, format: ExportFormat | None) -> Exported:
    """How an object kept in `file_name` exports in `format` (None: as it is kept, which is
    Databricks' SOURCE for all but an .ipynb notebook).

    Raises:
        Refused: for a folder, a format headwater does not write, or a conversion it
            does not make (source to Jupyter, Jupyter to source); the message says which
            format to ask for.
    """
    if object_type is ObjectType.DIRECTORY:
        raise Refused("exporting a folder is not supported: list it and export each "
                            "object")
    if format in (ExportFormat.HTML, ExportFormat.DBC, ExportFormat.R_MARKDOWN):
        raise Refused(f"format {format} is not supported: export SOURCE, JUPYTER, AUTO "
                            "or RAW")
    if object_type is ObjectType.FILE:
        if format is ExportFormat.JUPYTER:
            raise Refused("a file exports as its bytes: ask for SOURCE, AUTO or RAW")
        return Exported(None)
    suffix = posixpath.splitext(file_name)[1]
    jupyter = suffix == JUPYTER_SUFFIX
    if format is ExportFormat.JUPYTER and not jupyter:
        raise Refused("the notebook is kept as source: export it as SOURCE (converting "
                            "it to Jupyter is not supported)")
    if format is ExportFormat.SOURCE and jupyter:
        raise Refused("the notebook is kept as an .ipynb: export it as JUPYTER or AUTO "
                            "(converting it to source is not supported)")
    return Exported(suffix[1:])
