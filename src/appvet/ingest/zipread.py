"""A zip reader that reads what Android reads.

Python's ``zipfile`` refuses archives that Android installs without complaint: an entry with the
encryption bit set, an unknown compression method, a local header whose sizes disagree with the
central directory. Packers use exactly these to break analysers. Like Android's libziparchive we
trust the central directory, use the local header only to find where the data starts, and inflate
anything that is not stored. Every size is checked against the limits before memory is spent.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from appvet.errors import ArchiveError, LimitExceeded

_EOCD_SIG = b"PK\x05\x06"
_EOCD64_LOC_SIG = b"PK\x06\x07"
_EOCD64_SIG = b"PK\x06\x06"
_CDH_SIG = b"PK\x01\x02"
_LFH_SIG = b"PK\x03\x04"
_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_EOCD64_LOC = struct.Struct("<4sIQI")
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LFH = struct.Struct("<4sHHHHHIIIHH")

METHOD_STORED = 0
METHOD_DEFLATED = 8


@dataclass(frozen=True)
class Limits:
    """Safety limits for one archive. Defaults are documented in the README."""

    max_entries: int = 200_000
    max_total_uncompressed: int = 4 * 1024**3
    """Sum of the declared uncompressed sizes of all entries."""
    max_entry_size: int = 1024**3
    """Largest single entry appvet will inflate into memory."""
    max_ratio: int = 500
    """Largest compression ratio accepted for entries bigger than ``ratio_floor`` (zip bombs)."""
    ratio_floor: int = 32 * 1024**2
    max_name_length: int = 4096


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    compressed_size: int
    size: int
    crc: int
    header_offset: int
    external_attr: int = 0
    """Host attributes; for zips made on Unix the high 16 bits are the mode (symbolic links show there)."""


@dataclass(frozen=True)
class ZipTrick:
    """A way the archive's entry names or headers are built to make tools see different files.

    ``kind``: ``escape`` (a name with ``..`` or an absolute path), ``duplicate`` (a name recorded
    twice), ``case`` (names equal but for letter case) or ``local-header`` (a local header whose
    name, method, sizes or CRC disagree with the central directory).
    """

    kind: str
    entry: str
    detail: str


@dataclass
class ZipArchive:
    """Central-directory view of a zip held in memory (bytes or an mmap)."""

    file: str
    data: memoryview
    entries: dict[str, ZipEntry]
    central_directory_offset: int
    oddities: list[str] = field(default_factory=list)
    """Tricks noticed that Android tolerates (kept as evidence of anti-analysis packing)."""
    limits: Limits = field(default_factory=Limits)
    tricks: list[ZipTrick] = field(default_factory=list)
    """Name and header tricks (reported as findings of their own); the archive is read all the same."""

    def names(self) -> list[str]:
        return list(self.entries)

    def read(self, name: str, *, max_size: int | None = None) -> bytes:
        """Return the uncompressed bytes of an entry, as Android would extract them."""
        entry = self.entries.get(name)
        if entry is None:
            raise ArchiveError(f"no entry named {name!r}", file=self.file)
        cap = min(max_size or self.limits.max_entry_size, self.limits.max_entry_size)
        if entry.size > cap:
            raise LimitExceeded(
                f"entry {name!r} declares {entry.size:,} bytes, above the limit of {cap:,}", file=self.file
            )
        raw = self._raw(entry)
        if entry.method == METHOD_STORED:
            return bytes(raw[: entry.size]) if entry.size <= len(raw) else bytes(raw)
        try:
            return _inflate(raw, entry.size)
        except zlib.error:
            if entry.method == METHOD_DEFLATED:
                raise ArchiveError(f"entry {name!r} is not valid deflate data", file=self.file) from None
            # An unknown method that does not inflate is read as stored, which is what installs.
            return bytes(raw[: entry.size])

    def raw_view(self, name: str) -> memoryview | None:
        """Zero-copy view of a stored entry (nested APKs in a bundle); ``None`` if compressed."""
        entry = self.entries[name]
        if entry.method != METHOD_STORED:
            return None
        return self._raw(entry)[: entry.size]

    def _raw(self, entry: ZipEntry) -> memoryview:
        data = self.data
        off = entry.header_offset
        if off + _LFH.size > len(data):
            raise ArchiveError(f"entry {entry.name!r} points past the end of the file", file=self.file)
        sig, *_rest, name_len, extra_len = _LFH.unpack_from(data, off)
        if sig != _LFH_SIG:
            raise ArchiveError(f"entry {entry.name!r} has no local header at offset {off}", file=self.file)
        start = off + _LFH.size + name_len + extra_len
        end = start + entry.compressed_size
        if end > len(data):
            raise ArchiveError(f"entry {entry.name!r} is truncated", file=self.file)
        return data[start:end]


def _inflate(raw: memoryview, size: int) -> bytes:
    """Inflate raw deflate data, producing at most ``size`` bytes (a lying size cannot grow memory)."""
    d = zlib.decompressobj(-15)
    out = d.decompress(raw, size) if size > 0 else d.decompress(raw, 1)
    return out[:size]


def _find_eocd(data: memoryview, file: str) -> int:
    n = len(data)
    if n < _EOCD.size:
        raise ArchiveError("not a zip archive (file too small)", file=file)
    # The comment is at most 65,535 bytes, so the record is in the last 64 KiB + 22 bytes.
    lo = max(0, n - _EOCD.size - 0xFFFF)
    tail = bytes(data[lo:])
    # The record whose comment ends exactly at the end of the file wins (as in apksig): a comment
    # may itself hold a fake record. Failing that, the last record that fits, for trailing junk.
    fitting = None
    pos = tail.rfind(_EOCD_SIG)
    while pos >= 0:
        # A signature in the last 21 bytes cannot start a whole record.
        comment_len = struct.unpack_from("<H", tail, pos + 20)[0] if pos + _EOCD.size <= len(tail) else None
        if comment_len is not None and pos + _EOCD.size + comment_len == len(tail):
            return lo + pos
        if comment_len is not None and fitting is None and pos + _EOCD.size + comment_len < len(tail):
            fitting = lo + pos
        pos = tail.rfind(_EOCD_SIG, 0, pos)
    if fitting is not None:
        return fitting
    raise ArchiveError("not a zip archive, or truncated (no end-of-central-directory record)", file=file)


def _check_name(name: str, file: str, limits: Limits) -> None:
    """Refuse names no zip reader can use; names that only look hostile are reported, not refused."""
    if len(name) > limits.max_name_length:
        raise ArchiveError(f"entry name longer than {limits.max_name_length} characters", file=file)
    if "\x00" in name:
        # libziparchive refuses the whole archive for such a name, so Android cannot install it either.
        raise ArchiveError(f"entry name contains a NUL byte: {name!r}", file=file)


def escapes(name: str) -> str | None:
    """Why ``name`` would land outside the folder it is extracted to, or ``None``.

    Android never extracts by these names (it looks entries up by exact name), but unzip tools and
    analysers that do may write outside their folder or read a different file (zip slip).
    """
    unified = name.replace("\\", "/")
    if unified.startswith("/"):
        return "absolute path"
    if len(name) > 1 and name[1] == ":" and name[0].isalpha():
        return "drive-letter path"
    if ".." in unified.split("/"):
        return "climbs with '..'"
    return None


def _local_header_trick(view: memoryview, entry: ZipEntry, raw_name: bytes, zip64: bool) -> str | None:
    """How the local header of ``entry`` disagrees with its central record, as libziparchive checks it.

    libziparchive compares the local name with the central one, and, when the local header has no
    data-descriptor flag, the sizes and CRC; a mismatch makes that entry unreadable on the device.
    Tools that stream a zip from its local headers read what the local headers say instead.
    """
    off = entry.header_offset
    if off + _LFH.size > len(view):
        return None  # reported when the entry is read
    sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, _xlen = _LFH.unpack_from(view, off)
    if sig != _LFH_SIG:
        return None
    local_name = bytes(view[off + _LFH.size : off + _LFH.size + nlen])
    problems = []
    if local_name != raw_name:
        problems.append(f"local header names it {local_name.decode('utf-8', 'replace')!r}")
    if method != entry.method:
        problems.append(f"local header says method {method}, central directory {entry.method}")
    if not flags & 0x08 and not zip64 and (csize, usize, crc) != (entry.compressed_size, entry.size, entry.crc):
        problems.append(f"local header sizes/CRC {csize}/{usize}/{crc:08x} differ from central directory "
                        f"{entry.compressed_size}/{entry.size}/{entry.crc:08x}")
    return "; ".join(problems) or None


def open_zip(data: bytes | memoryview, file: str, limits: Limits | None = None) -> ZipArchive:
    """Read the central directory; raise ArchiveError / LimitExceeded for what cannot be reviewed."""
    limits = limits or Limits()
    view = memoryview(data)
    eocd = _find_eocd(view, file)
    _sig, disk, _cd_disk, _n_disk, total, cd_size, cd_offset, _clen = _EOCD.unpack_from(view, eocd)
    oddities: list[str] = []
    if total == 0xFFFF or cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        loc = eocd - _EOCD64_LOC.size
        if loc >= 0 and bytes(view[loc : loc + 4]) == _EOCD64_LOC_SIG:
            _s, _d, eocd64, _disks = _EOCD64_LOC.unpack_from(view, loc)
            if eocd64 + _EOCD64.size > len(view) or bytes(view[eocd64 : eocd64 + 4]) != _EOCD64_SIG:
                raise ArchiveError("broken zip64 end-of-central-directory record", file=file)
            fields = _EOCD64.unpack_from(view, eocd64)
            total, cd_size, cd_offset = fields[7], fields[8], fields[9]
    if disk != 0:
        oddities.append("end-of-central-directory names a disk number other than 0")
    if total > limits.max_entries:
        raise LimitExceeded(f"{total:,} entries, above the limit of {limits.max_entries:,}", file=file)
    if cd_offset + cd_size > eocd or cd_offset > len(view):
        raise ArchiveError("central directory lies outside the file (truncated or not a zip)", file=file)

    entries: dict[str, ZipEntry] = {}
    tricks: list[ZipTrick] = []
    by_offset: dict[int, str] = {}
    by_fold: dict[str, list[str]] = {}
    total_size = 0
    pos = cd_offset
    for _ in range(total):
        if pos + _CDH.size > eocd:
            raise ArchiveError("central directory is truncated", file=file)
        (sig, _vm, _vn, flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen, _dn, _ia, _ea, hoff) = (
            _CDH.unpack_from(view, pos)
        )
        if sig != _CDH_SIG:
            raise ArchiveError(f"bad central directory record at offset {pos}", file=file)
        raw_name = bytes(view[pos + _CDH.size : pos + _CDH.size + nlen])
        extra = bytes(view[pos + _CDH.size + nlen : pos + _CDH.size + nlen + xlen])
        pos += _CDH.size + nlen + xlen + clen
        # Android decodes names as UTF-8 whatever the language-encoding flag says.
        name = raw_name.decode("utf-8", "replace")
        zip64 = 0xFFFFFFFF in (usize, csize, hoff)
        if zip64:
            usize, csize, hoff = _zip64_sizes(extra, usize, csize, hoff)
        _check_name(name, file, limits)
        if flags & 1:
            oddities.append(f"{name}: encryption flag set (ignored, as Android does)")
        if method not in (METHOD_STORED, METHOD_DEFLATED):
            oddities.append(f"{name}: compression method {method} (read as Android reads it)")
        if usize > limits.ratio_floor and csize and usize / csize > limits.max_ratio:
            raise LimitExceeded(
                f"entry {name!r} expands {usize / csize:,.0f} times to {usize:,} bytes "
                f"(ratio limit {limits.max_ratio}): zip bomb",
                file=file,
            )
        total_size += usize
        if total_size > limits.max_total_uncompressed:
            raise LimitExceeded(
                f"entries expand to more than {limits.max_total_uncompressed:,} bytes: zip bomb or oversized input",
                file=file,
            )
        if name in entries:
            # Current libziparchive refuses the archive; older readers kept one of the two records, and
            # verifiers and installers that disagreed on which one is how the 2013 "Master Key" attack
            # worked. appvet reviews the first record, as the reader that accepted duplicates did.
            tricks.append(ZipTrick("duplicate", name, "second record of this name ignored; the first one is "
                                   "reviewed (current Android refuses to install such an archive)"))
            continue
        why = escapes(name)
        if why is not None:
            tricks.append(ZipTrick("escape", name, f"{why}: an unzip tool may write it outside its folder; "
                                   "Android never reads an entry by this name"))
        if hoff in by_offset:
            # Android does not check; overlapping records are how flat zip bombs and decoys are made.
            oddities.append(f"{name}: shares its data with {by_offset[hoff]}")
        else:
            by_offset[hoff] = name
        entry = ZipEntry(name, method, flags, csize, usize, crc, hoff, _ea)
        entries[name] = entry
        by_fold.setdefault(name.casefold(), []).append(name)
        lfh = _local_header_trick(view, entry, raw_name, zip64)
        if lfh is not None:
            tricks.append(ZipTrick("local-header", name, f"{lfh}; the central directory is used, as Android "
                                   "does (libziparchive refuses to read this entry)"))
    for names in by_fold.values():
        if len(names) > 1:
            tricks.append(ZipTrick("case", names[0], f"names differ only by case: {', '.join(names)}; Android "
                                   "reads each by its exact name, a case-insensitive file system keeps one"))
    return ZipArchive(file, view, entries, cd_offset, oddities, limits, tricks)


def _zip64_sizes(extra: bytes, usize: int, csize: int, hoff: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if tag == 0x0001:
            j = 0
            if usize == 0xFFFFFFFF and j + 8 <= len(body):
                usize = struct.unpack_from("<Q", body, j)[0]
                j += 8
            if csize == 0xFFFFFFFF and j + 8 <= len(body):
                csize = struct.unpack_from("<Q", body, j)[0]
                j += 8
            if hoff == 0xFFFFFFFF and j + 8 <= len(body):
                hoff = struct.unpack_from("<Q", body, j)[0]
            break
        i += 4 + size
    return usize, csize, hoff
