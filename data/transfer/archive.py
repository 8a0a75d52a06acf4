"""Reading a clinic export's zip without trusting it: names, member count and sizes are checked first.

A hostile archive (a "zip bomb": a few MB that inflate to GiB, or a million tiny members) must not
take the server down: the app serves every clinician from one process. So, before anything is
decompressed, the end-of-central-directory record is read by hand (zipfile itself builds an object
per member, which for a crafted central directory is already a memory problem), every member name is
checked against the export's fixed list, and only then are members inflated, in chunks, counting the
bytes that actually come out (a header's declared size is a claim, not a bound we rely on).
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Sizes measured on the demo clinic (python -m data.demo --patients 500, then export): 3.8 MB of
# CSV/JSON that deflate to 0.55 MB (about 7:1); the largest members, visits.csv and odi_sections.csv,
# 1.2 MB each. A 10,000-patient clinic is then about 76 MB uncompressed (11 MB zipped), its largest
# member about 24 MB, plus an audit trail that a clinic in real use grows to perhaps 100 MB, plus
# handout PDFs (tens of KB each, stored almost uncompressed). The caps leave room above that and stay
# well below what one server process can hold: the importer keeps the members in memory.
MAX_MEMBER_BYTES = 128 << 20  # one CSV/JSON file: 5x the largest member of a 10,000-patient clinic
MAX_PDF_BYTES = 8 << 20  # one handout PDF: a few pages, normally under 100 KB
MAX_TOTAL_BYTES = 384 << 20  # everything inflated: twice a large real clinic; 8x the 50 MB upload limit
# 21 data files, the manifest and its signature, and up to four PDFs (handouts, letters) per patient of
# a 10,000-patient clinic; below 65,535, so an export never needs zip64 and the plain end record's
# count is exact.
MAX_MEMBERS = 40_000
# A central-directory entry is 46 bytes plus its name (at most 49 characters here): 128 is generous,
# and bounds what zipfile parses (it builds an object per entry it finds, whatever the count says).
CD_ENTRY_BYTES = 128
# Exported CSV and JSON deflate about 7:1 and never beyond 20:1 (ids and hashes are random); zeros or
# repeated text inflate 1000:1. Output beyond this ratio of the compressed size (after a small
# allowance for tiny members) is refused as it streams.
MAX_RATIO = 100
RATIO_ALLOWANCE = 1 << 20
CHUNK = 64 << 10

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_EOCD_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF
_SAFE_LABEL = re.compile(r"[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64})?")


class ArchiveError(Exception):
    """The archive is refused before its contents are read; `member` names the file when one is to blame."""

    def __init__(self, message: str, member: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.member = member


@dataclass(frozen=True)
class Limits:
    """The caps a read enforces (tests pass small ones)."""

    member_bytes: int = MAX_MEMBER_BYTES
    pdf_bytes: int = MAX_PDF_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    members: int = MAX_MEMBERS
    ratio: int = MAX_RATIO


def member_label(name: str) -> str:
    """A member name fit for a message: itself when plain, else a placeholder (it could hold anything)."""
    return name if _SAFE_LABEL.fullmatch(name) else "a member with an unusual name"


def _end_record(path: Path) -> tuple[int, int]:
    """(entries, central directory bytes) from the end record, without zipfile (raises ArchiveError)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        tail_len = min(size, _EOCD.size + _MAX_COMMENT)
        handle.seek(size - tail_len)
        tail = handle.read(tail_len)
    at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise ArchiveError("not a readable zip archive (malformed or damaged)")
    _sig, disk, cd_disk, _disk_entries, entries, cd_size, cd_offset, _comment = _EOCD.unpack(
        tail[at : at + _EOCD.size]
    )
    if disk or cd_disk:
        raise ArchiveError("a multi-part zip archive: export files are a single zip")
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        raise ArchiveError("a zip64 archive: far larger than a clinic export can be")
    return entries, cd_size


def check_names(names: Iterable[str], allowed: Iterable[str], pattern: re.Pattern[str]) -> None:
    """Every name is one the export writes, once, and a plain relative path (raises ArchiveError)."""
    allowed_set = set(allowed)
    seen: set[str] = set()
    for name in names:
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or "\\" in name or "\0" in name:
            raise ArchiveError("an absolute or unsafe path in the archive", member_label(name))
        if ".." in name.split("/"):
            raise ArchiveError("a path that leaves the archive (..)", member_label(name))
        if name not in allowed_set and not pattern.fullmatch(name):
            raise ArchiveError("unexpected file in the archive", member_label(name))
        if name in seen:
            raise ArchiveError("appears more than once in the archive", member_label(name))
        seen.add(name)


def read_members(
    zip_path: str | os.PathLike[str],
    *,
    allowed: Iterable[str],
    pdf_pattern: re.Pattern[str],
    limits: Limits | None = None,
) -> dict[str, bytes]:
    """Every member of a checked archive, inflated under the caps (raises ArchiveError, OSError)."""
    caps = limits or Limits()
    path = Path(zip_path)
    entries, cd_size = _end_record(path)
    if entries > caps.members or cd_size > caps.members * CD_ENTRY_BYTES:
        raise ArchiveError(f"holds more than {caps.members} files: more than a clinic export can")
    members: dict[str, bytes] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if len(infos) > caps.members:  # the end record understated the count
                raise ArchiveError(f"holds more than {caps.members} files: more than a clinic export can")
            check_names([info.filename for info in infos], allowed, pdf_pattern)
            for info in infos:
                cap = caps.pdf_bytes if pdf_pattern.fullmatch(info.filename) else caps.member_bytes
                # The header's sizes are claims: a claim over a cap refuses at once, and the bytes
                # that really come out are counted against the caps as they stream.
                cap = min(cap, caps.ratio * info.compress_size + RATIO_ALLOWANCE)
                if info.file_size > cap:
                    raise ArchiveError(
                        "inflates to more than an export file can be", member_label(info.filename)
                    )
                if total + info.file_size > caps.total_bytes:
                    raise ArchiveError(f"the archive inflates to more than {caps.total_bytes >> 20} MiB")
                data = bytearray()
                with archive.open(info) as stream:
                    while chunk := stream.read(CHUNK):
                        data += chunk
                        if len(data) > cap:
                            raise ArchiveError(
                                "inflates to more than an export file can be", member_label(info.filename)
                            )
                        if total + len(data) > caps.total_bytes:
                            raise ArchiveError(
                                f"the archive inflates to more than {caps.total_bytes >> 20} MiB"
                            )
                total += len(data)
                members[info.filename] = bytes(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise ArchiveError("not a readable zip archive (malformed or damaged)") from exc
    except RuntimeError as exc:  # an encrypted member
        raise ArchiveError("an encrypted zip archive: export files are not encrypted") from exc
    return members
