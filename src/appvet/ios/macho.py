"""Mach-O reader: what a review needs from an iOS binary, and nothing it does not.

Reads thin and fat (universal) files; from a fat file the arm64 slice is read (arm64e, then
the first slice, when there is none) and the choice is recorded. From the slice: load commands,
linked dylibs, imported and defined symbols (symbol table and chained-fixup imports),
Objective-C classes, class references and selector references, Swift type names (class names in
the Objective-C metadata and ``__swift5_types`` descriptors), C strings and CFStrings, the
encryption range and the code-signature blob.

Pointers in ``__DATA`` are decoded for both the classic dyld-info layout (the file holds the
target address) and chained fixups (the file holds a rebase target or a bind ordinal in the
bits of the pointer). A binary encrypted by the App Store (``cryptid`` != 0) still has readable
load commands, symbols and data pointers; any string that lies inside the encrypted range is
not read and ``encrypted`` says so.

Every offset is checked; malformed input raises :class:`~appvet.errors.FormatError`.
"""

from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass, field

from appvet.errors import FormatError

MH_MAGIC = 0xFEEDFACE
MH_MAGIC_64 = 0xFEEDFACF
FAT_MAGIC = 0xCAFEBABE
FAT_MAGIC_64 = 0xCAFEBABF

CPU_ARM = 12
CPU_ARM64 = 0x0100000C
CPU_X86_64 = 0x01000007
CPU_ARM64_32 = 0x0200000C

LC_SEGMENT = 0x1
LC_SYMTAB = 0x2
LC_LOAD_DYLIB = 0xC
LC_ID_DYLIB = 0xD
LC_UUID = 0x1B
LC_CODE_SIGNATURE = 0x1D
LC_SEGMENT_64 = 0x19
LC_LAZY_LOAD_DYLIB = 0x20
LC_ENCRYPTION_INFO = 0x21
LC_VERSION_MIN_IPHONEOS = 0x25
LC_ENCRYPTION_INFO_64 = 0x2C
LC_BUILD_VERSION = 0x32
LC_REQ_DYLD = 0x80000000
LC_LOAD_WEAK_DYLIB = 0x18 | LC_REQ_DYLD
LC_RPATH = 0x1C | LC_REQ_DYLD
LC_REEXPORT_DYLIB = 0x1F | LC_REQ_DYLD
LC_LOAD_UPWARD_DYLIB = 0x23 | LC_REQ_DYLD
LC_MAIN = 0x28 | LC_REQ_DYLD
LC_DYLD_CHAINED_FIXUPS = 0x34 | LC_REQ_DYLD

_DYLIB_CMDS = {LC_LOAD_DYLIB: "load", LC_LOAD_WEAK_DYLIB: "weak", LC_REEXPORT_DYLIB: "reexport",
               LC_LAZY_LOAD_DYLIB: "lazy", LC_LOAD_UPWARD_DYLIB: "upward"}

LC_NAMES = {
    0x1: "LC_SEGMENT", 0x2: "LC_SYMTAB", 0xB: "LC_DYSYMTAB", 0xC: "LC_LOAD_DYLIB", 0xD: "LC_ID_DYLIB",
    0xE: "LC_LOAD_DYLINKER", 0x19: "LC_SEGMENT_64", 0x1B: "LC_UUID", 0x1D: "LC_CODE_SIGNATURE",
    0x1E: "LC_SEGMENT_SPLIT_INFO", 0x20: "LC_LAZY_LOAD_DYLIB", 0x21: "LC_ENCRYPTION_INFO", 0x22: "LC_DYLD_INFO",
    0x22 | LC_REQ_DYLD: "LC_DYLD_INFO_ONLY", 0x25: "LC_VERSION_MIN_IPHONEOS", 0x26: "LC_FUNCTION_STARTS",
    0x29: "LC_DATA_IN_CODE", 0x2A: "LC_SOURCE_VERSION", 0x2C: "LC_ENCRYPTION_INFO_64", 0x2F: "LC_VERSION_MIN_TVOS",
    0x30: "LC_VERSION_MIN_WATCHOS", 0x31: "LC_NOTE", 0x32: "LC_BUILD_VERSION",
    LC_LOAD_WEAK_DYLIB: "LC_LOAD_WEAK_DYLIB", LC_RPATH: "LC_RPATH", LC_REEXPORT_DYLIB: "LC_REEXPORT_DYLIB",
    LC_LOAD_UPWARD_DYLIB: "LC_LOAD_UPWARD_DYLIB", LC_MAIN: "LC_MAIN", LC_DYLD_CHAINED_FIXUPS: "LC_DYLD_CHAINED_FIXUPS",
    0x33 | LC_REQ_DYLD: "LC_DYLD_EXPORTS_TRIE",
}
FILE_TYPES = {1: "object", 2: "execute", 6: "dylib", 7: "dylinker", 8: "bundle", 9: "dylib_stub", 10: "dsym",
              11: "kext_bundle"}
PLATFORMS = {1: "macos", 2: "ios", 3: "tvos", 4: "watchos", 6: "maccatalyst", 7: "ios-simulator"}

S_CSTRING_LITERALS = 0x2
MAX_SLICES = 32
MAX_STRINGS = 2_000_000
"""Strings of one kind kept per binary; past it the reader stops and records that it did."""
MAX_STRING = 4096
MAX_BINDS = 2_000_000
"""Bind-opcode steps followed per binary: real binaries need a few hundred thousand."""


def cpu_name(cputype: int, subtype: int) -> str:
    sub = subtype & 0x00FFFFFF
    if cputype == CPU_ARM64:
        return "arm64e" if sub == 2 else "arm64"
    if cputype == CPU_ARM64_32:
        return "arm64_32"
    if cputype == CPU_ARM:
        return {9: "armv7", 11: "armv7s", 12: "armv7k", 6: "armv6"}.get(sub, "arm")
    if cputype == CPU_X86_64:
        return "x86_64"
    if cputype == 7:
        return "i386"
    return f"cpu-{cputype:#x}"


@dataclass(frozen=True)
class Slice:
    arch: str
    offset: int
    size: int


@dataclass(frozen=True)
class Section:
    segment: str
    name: str
    addr: int
    size: int
    offset: int
    flags: int


@dataclass
class MachO:
    """One slice of a Mach-O file, as read."""

    arch: str
    filetype: str
    slices: tuple[str, ...] = ()
    """Architectures of a fat file, in file order; ``()`` for a thin file."""
    load_commands: list[str] = field(default_factory=list)
    libraries: list[tuple[str, str]] = field(default_factory=list)
    """(install name, how: load, weak, reexport, lazy, upward) in load order."""
    install_name: str | None = None
    rpaths: list[str] = field(default_factory=list)
    uuid: str | None = None
    platform: str | None = None
    min_os: str | None = None
    sdk: str | None = None
    encrypted: bool = False
    encryption: tuple[int, int, int] | None = None
    """(cryptoff, cryptsize, cryptid) of LC_ENCRYPTION_INFO(_64)."""
    sections: list[Section] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    """Undefined external symbols, as spelt in the file (``_objc_msgSend``, ``_OBJC_CLASS_$_CLLocationManager``)."""
    defined: list[str] = field(default_factory=list)
    """Defined external symbols."""
    objc_classes: list[str] = field(default_factory=list)
    """Classes defined here (``__objc_classlist``)."""
    objc_class_refs: list[str] = field(default_factory=list)
    """Classes referenced (``__objc_classrefs``, superclasses and imported class symbols)."""
    objc_selectors: list[str] = field(default_factory=list)
    """Selectors referenced (``__objc_selrefs``)."""
    objc_categories: list[str] = field(default_factory=list)
    objc_protocols: list[str] = field(default_factory=list)
    swift_types: list[str] = field(default_factory=list)
    cstrings: list[str] = field(default_factory=list)
    cfstrings: list[str] = field(default_factory=list)
    methods: dict[int, str] = field(default_factory=dict)
    """Implementation address -> ``-[Class selector]`` / ``+[Class selector]`` of methods defined here."""
    code_refs: list[tuple[str, str, str]] = field(default_factory=list)
    """(function, kind, value): a function's code loads a class reference (``class``), a selector
    reference (``selector``), an imported symbol's address (``symbol``) or a string (``string``).
    The function is named ``-[Class sel]`` when it is a method, by its symbol, else ``sub_<address>``."""
    code_signature: bytes | None = None
    notes: list[str] = field(default_factory=list)
    """What could not be read, in words."""


def fat_slices(data: bytes | memoryview, file: str) -> list[Slice] | None:
    """Slices of a fat file, ``None`` for a thin file."""
    if len(data) < 8:
        raise FormatError("too small to be a Mach-O file", file=file)
    magic = struct.unpack_from(">I", data, 0)[0]
    if magic not in (FAT_MAGIC, FAT_MAGIC_64):
        return None
    count = struct.unpack_from(">I", data, 4)[0]
    if count > MAX_SLICES:
        # 0xCAFEBABE is also a Java class file; a count this large is not a fat Mach-O.
        raise FormatError(f"fat header declares {count} slices (at most {MAX_SLICES} accepted)", file=file)
    out = []
    entry = struct.Struct(">iiIII") if magic == FAT_MAGIC else struct.Struct(">iiQQII")
    for i in range(count):
        pos = 8 + i * entry.size
        if pos + entry.size > len(data):
            raise FormatError("fat header is truncated", file=file)
        cputype, subtype, offset, size = entry.unpack_from(data, pos)[:4]
        if offset + size > len(data) or size < 28:
            raise FormatError(f"fat slice {i} ({cpu_name(cputype & 0xFFFFFFFF, subtype)}) lies outside the file",
                              file=file)
        out.append(Slice(cpu_name(cputype & 0xFFFFFFFF, subtype), offset, size))
    if not out:
        raise FormatError("fat file with no slices", file=file)
    return out


def pick_slice(slices: list[Slice]) -> Slice:
    """arm64 first (what every iOS device since 2013 runs), then arm64e, then the first."""
    for want in ("arm64", "arm64e"):
        for s in slices:
            if s.arch == want:
                return s
    return slices[0]


def is_macho(head: bytes) -> bool:
    if len(head) < 4:
        return False
    le = struct.unpack_from("<I", head, 0)[0]
    be = struct.unpack_from(">I", head, 0)[0]
    return le in (MH_MAGIC, MH_MAGIC_64) or be in (FAT_MAGIC, FAT_MAGIC_64)


def parse_macho(data: bytes | memoryview, file: str, *, strings: bool = True, code: bool = True) -> MachO:
    """Read the slice a device would run; raise ``FormatError`` for what is not a readable Mach-O."""
    view = memoryview(data)
    slices = fat_slices(view, file)
    chosen = None
    if slices is not None:
        chosen = pick_slice(slices)
        view = view[chosen.offset : chosen.offset + chosen.size]
    try:
        # A thin file given as bytes is read in place; only a fat slice is copied out.
        raw = data if isinstance(data, bytes) and slices is None else bytes(view)
        reader = _Reader(raw, file, strings, code)
        macho = reader.read()
    except FormatError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise FormatError(f"malformed Mach-O: {exc}", file=file) from None
    if slices is not None and chosen is not None:
        macho.slices = tuple(s.arch for s in slices)
        if len(slices) > 1:
            macho.notes.append(f"fat binary with slices {', '.join(macho.slices)}; read {chosen.arch}")
    return macho


class _Reader:
    def __init__(self, data: bytes, file: str, strings: bool, code: bool = True) -> None:
        self.d = data
        self.want_code = code
        self.slot_names: dict[int, tuple[str, str]] = {}
        self.string_at: dict[int, str] = {}
        self.strtab = b""
        self.symbol_at: dict[int, int] = {}
        """Address -> string-table offset of the first symbol defined there; named only when a reference
        is charged to it."""
        self.function_starts: list[int] = []
        self.file = file
        self.want_strings = strings
        self.segments: list[tuple[int, int, int, int]] = []  # vmaddr, vmsize, fileoff, filesize (sorted)
        self._seg_starts: list[int] = []
        self.base = 0
        self.chained_format = 0
        self.chained_imports: list[str] = []
        self.crypt: tuple[int, int] | None = None
        self.binds: dict[int, str] = {}
        self.p64 = True
        self.ptr = struct.Struct("<Q")

    def fail(self, msg: str) -> FormatError:
        return FormatError(msg, file=self.file)

    def read(self) -> MachO:
        d = self.d
        if len(d) < 28:
            raise self.fail("too small to be a Mach-O file")
        magic = struct.unpack_from("<I", d, 0)[0]
        if magic == MH_MAGIC_64:
            self.p64, hsize = True, 32
        elif magic == MH_MAGIC:
            self.p64, hsize = False, 28
            self.ptr = struct.Struct("<I")
        elif struct.unpack_from(">I", d, 0)[0] in (MH_MAGIC, MH_MAGIC_64):
            raise self.fail("big-endian Mach-O (not an iOS binary)")
        else:
            raise self.fail(f"not a Mach-O file (magic {magic:#010x})")
        _m, cputype, subtype, filetype, ncmds, sizeofcmds, _flags = struct.unpack_from("<IIIIIII", d, 0)
        if hsize + sizeofcmds > len(d):
            raise self.fail(f"load commands ({sizeofcmds:,} bytes) run past the end of the file")
        m = MachO(arch=cpu_name(cputype, subtype), filetype=FILE_TYPES.get(filetype, f"type-{filetype}"))
        symtab = None
        chained = None
        fstarts = None
        dyld_info = None
        self.segment_order: list[tuple[int, int]] = []
        pos = hsize
        end = hsize + sizeofcmds
        for i in range(ncmds):
            if pos + 8 > end:
                raise self.fail(f"load command {i} of {ncmds} runs past the load-command area")
            cmd, cmdsize = struct.unpack_from("<II", d, pos)
            if cmdsize < 8 or pos + cmdsize > end:
                raise self.fail(f"load command {i} has size {cmdsize} outside the load-command area")
            m.load_commands.append(LC_NAMES.get(cmd, f"LC_{cmd:#x}"))
            body = d[pos : pos + cmdsize]
            if cmd in (LC_SEGMENT_64, LC_SEGMENT):
                self._segment(body, cmd == LC_SEGMENT_64, m)
            elif cmd in _DYLIB_CMDS:
                m.libraries.append((self._lc_str(body, 8), _DYLIB_CMDS[cmd]))
            elif cmd == LC_ID_DYLIB:
                m.install_name = self._lc_str(body, 8)
            elif cmd == LC_RPATH:
                m.rpaths.append(self._lc_str(body, 8))
            elif cmd == LC_UUID and cmdsize >= 24:
                m.uuid = body[8:24].hex().upper()
            elif cmd == LC_SYMTAB and cmdsize >= 24:
                symtab = struct.unpack_from("<IIII", body, 8)
            elif cmd in (LC_ENCRYPTION_INFO, LC_ENCRYPTION_INFO_64) and cmdsize >= 20:
                off, size, cryptid = struct.unpack_from("<III", body, 8)
                m.encryption = (off, size, cryptid)
                if cryptid != 0:
                    m.encrypted = True
                    self.crypt = (off, off + size)
            elif cmd == LC_CODE_SIGNATURE and cmdsize >= 16:
                off, size = struct.unpack_from("<II", body, 8)
                if off + size > len(d):
                    m.notes.append("code signature lies past the end of the file")
                else:
                    m.code_signature = d[off : off + size]
            elif cmd in (0x22, 0x22 | LC_REQ_DYLD) and cmdsize >= 48:
                dyld_info = struct.unpack_from("<IIIIIIIIII", body, 8)
            elif cmd == 0x26 and cmdsize >= 16:
                fstarts = struct.unpack_from("<II", body, 8)
            elif cmd == LC_DYLD_CHAINED_FIXUPS and cmdsize >= 16:
                chained = struct.unpack_from("<II", body, 8)
            elif cmd == LC_BUILD_VERSION and cmdsize >= 24:
                platform, minos, sdk = struct.unpack_from("<III", body, 8)
                m.platform = PLATFORMS.get(platform, str(platform))
                m.min_os, m.sdk = _version(minos), _version(sdk)
            elif cmd == LC_VERSION_MIN_IPHONEOS and cmdsize >= 16:
                minos, sdk = struct.unpack_from("<II", body, 8)
                m.platform, m.min_os, m.sdk = "ios", _version(minos), _version(sdk)
            pos += cmdsize
        self.segments.sort()
        self._seg_starts = [s[0] for s in self.segments]
        if chained is not None:
            self._chained(chained, m)
        if dyld_info is not None and self.want_strings:
            self._binds(dyld_info[2], dyld_info[3])
            self._binds(dyld_info[6], dyld_info[7])
        if symtab is not None:
            self._symbols(symtab, m)
        if fstarts is not None and self.want_code:
            self._function_starts(fstarts)
        m.imports = list(dict.fromkeys([*m.imports, *self.chained_imports]))
        if self.want_strings:
            self._strings(m)
            self._objc(m)
            if self.want_code and not m.encrypted:
                self._code(m)
        if m.encrypted and self.crypt:
            lo, hi = self.crypt
            m.notes.append(f"encrypted (cryptid {m.encryption[2] if m.encryption else 1}, bytes {lo:#x}-{hi:#x}): "
                           "class names, selectors, C strings and CFStrings in that range could not be read")
        return m

    # -- load commands -------------------------------------------------------------------------

    def _lc_str(self, body: bytes, at: int) -> str:
        if len(body) < at + 4:
            raise self.fail("load command too short for its string")
        off = struct.unpack_from("<I", body, at)[0]
        if off >= len(body):
            raise self.fail("load command string offset outside the command")
        raw = body[off:]
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def _segment(self, body: bytes, is64: bool, m: MachO) -> None:
        header, sect = _SEGMENT_64 if is64 else _SEGMENT_32
        first = 8 + header.size
        if len(body) < first:
            raise self.fail(f"{'LC_SEGMENT_64' if is64 else 'LC_SEGMENT'} too short")
        segname, vmaddr, vmsize, fileoff, filesize, nsects = header.unpack_from(body, 8)
        name = _cname(segname)
        self.segment_order.append((vmaddr, vmsize))
        if name == "__TEXT" and fileoff == 0:
            self.base = vmaddr
        if filesize and fileoff + filesize > len(self.d):
            m.notes.append(f"segment {name} runs past the end of the file; its data was not read")
            filesize = max(0, len(self.d) - fileoff) if fileoff < len(self.d) else 0
        if filesize:
            self.segments.append((vmaddr, min(vmsize, filesize) if vmsize else filesize, fileoff, filesize))
        if first + nsects * sect.size > len(body):
            raise self.fail(f"segment {name} declares {nsects} sections that do not fit its load command")
        for i in range(nsects):
            fields = sect.unpack_from(body, first + i * sect.size)
            sname, sseg, addr, size, offset = _cname(fields[0]), _cname(fields[1]), fields[2], fields[3], fields[4]
            flags = fields[8]
            m.sections.append(Section(sseg, sname, addr, size, offset, flags))

    # -- addresses -----------------------------------------------------------------------------

    def off_of(self, addr: int) -> int | None:
        i = bisect.bisect_right(self._seg_starts, addr) - 1
        if i < 0:
            return None
        vm, size, off, _fsize = self.segments[i]
        if addr - vm >= size:
            return None
        return off + (addr - vm)

    def readable(self, off: int) -> bool:
        return not (self.crypt and self.crypt[0] <= off < self.crypt[1])

    def decode_ptr(self, raw: int) -> tuple[str, int]:
        """``("addr", vmaddr)``, ``("bind", import ordinal)`` or ``("none", 0)``."""
        if raw == 0:
            return "none", 0
        fmt = self.chained_format
        if fmt == 0:
            return "addr", raw
        if fmt in (1, 9, 12):  # arm64e: bit 63 auth, bit 62 bind
            auth, bind = raw >> 63 & 1, raw >> 62 & 1
            if bind:
                return "bind", raw & (0xFFFF if fmt == 1 else 0xFFFFFF)
            if auth:
                return "addr", self.base + (raw & 0xFFFFFFFF)
            target = raw & 0x7FFFFFFFFFF
            return "addr", target if fmt == 1 and target >= self.base else self.base + target
        if raw >> 63 & 1:
            return "bind", raw & 0xFFFFFF
        target = raw & 0xFFFFFFFFF
        if fmt == 6 or target < self.base:
            target += self.base
        return "addr", target

    def pointer_at_off(self, off: int) -> int:
        if off + self.ptr.size > len(self.d):
            raise IndexError("pointer outside the file")
        return self.ptr.unpack_from(self.d, off)[0]

    def deref(self, addr: int) -> tuple[str, int]:
        off = self.off_of(addr)
        if off is None:
            return "none", 0
        return self.decode_ptr(self.pointer_at_off(off))

    def cstr_at(self, addr: int) -> str | None:
        # Selector and class-name strings are uniqued: method lists and references share addresses.
        hit = self.string_at.get(addr)
        if hit is not None:
            return hit
        off = self.off_of(addr)
        if off is None or not self.readable(off):
            return None
        end = self.d.find(b"\0", off, off + MAX_STRING)
        if end < 0:
            end = min(len(self.d), off + MAX_STRING)
        text = self.d[off:end].decode("utf-8", "replace")
        self.string_at[addr] = text
        return text

    def name_via_ptr(self, addr: int) -> str | None:
        kind, target = self.deref(addr)
        return self.cstr_at(target) if kind == "addr" else None

    # -- symbols -------------------------------------------------------------------------------

    def _symbols(self, symtab: tuple[int, int, int, int], m: MachO) -> None:
        symoff, nsyms, stroff, strsize = symtab
        entry = 16 if self.p64 else 12
        if symoff + nsyms * entry > len(self.d) or stroff + strsize > len(self.d):
            m.notes.append("symbol table lies past the end of the file; symbols were not read")
            return
        strtab = self.d[stroff : stroff + strsize]
        fmt = "<IBBHQ" if self.p64 else "<IBBHI"
        imports, defined = [], []
        self.strtab = strtab
        for strx, ntype, _sect, _desc, value in struct.iter_unpack(fmt, self.d[symoff : symoff + nsyms * entry]):
            if ntype & 0xE0 or strx >= strsize:
                continue  # debugging entries
            if self.want_code and ntype & 0x0E == 0x0E and value:
                self.symbol_at.setdefault(value, strx)
            if not ntype & 1:
                continue
            end = strtab.find(b"\0", strx)
            name = strtab[strx : end if end >= 0 else strsize].decode("utf-8", "replace")
            if ntype & 0x0E == 0:
                imports.append(name)
            else:
                defined.append(name)
        m.imports = list(dict.fromkeys(imports))
        m.defined = list(dict.fromkeys(defined))

    def _binds(self, off: int, size: int) -> None:
        """Classic dyld-info bind opcodes: the slot each imported symbol is written to.

        With this layout the file holds zero in a bound slot, so the opcodes are the only way to
        know that a class-reference slot names ``_OBJC_CLASS_$_CLLocationManager``.
        """
        if not size or off + size > len(self.d):
            return
        d = self.d
        pos, end = off, off + size
        sym = ""
        seg_addr = 0
        addr = 0
        step = self.ptr.size

        def uleb() -> int:
            nonlocal pos
            value = shift = 0
            while pos < end:
                byte = d[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            return value

        def bind() -> None:
            if sym:
                self.binds[addr] = sym

        names = 0
        while pos < end and names < MAX_BINDS:
            names += 1
            byte = d[pos]
            pos += 1
            op, imm = byte & 0xF0, byte & 0x0F
            if op == 0x00:
                continue  # DONE ends one symbol's run in the lazy table; the next follows
            if op == 0x20:
                uleb()
            elif op == 0x40:
                zero = d.find(b"\0", pos, end)
                if zero < 0:
                    return
                sym = d[pos:zero].decode("utf-8", "replace")
                pos = zero + 1
            elif op == 0x60:
                uleb()  # addend (SLEB); its value does not matter here
            elif op == 0x70:
                if imm >= len(self.segment_order):
                    return
                seg_addr = self.segment_order[imm][0]
                addr = seg_addr + uleb()
            elif op == 0x80:
                addr = (addr + uleb()) & 0xFFFFFFFFFFFFFFFF
            elif op == 0x90:
                bind()
                addr += step
            elif op == 0xA0:
                bind()
                addr = (addr + uleb() + step) & 0xFFFFFFFFFFFFFFFF
            elif op == 0xB0:
                bind()
                addr += imm * step + step
            elif op == 0xC0:
                count, skip = uleb(), uleb()
                count = min(count, MAX_BINDS - names)
                names += count  # a hostile count must not buy unbounded work
                for _ in range(count):
                    bind()
                    addr += skip + step
            elif op in (0x10, 0x30, 0x50):
                continue
            else:
                return  # threaded binds or an unknown opcode: stop rather than guess

    def _function_starts(self, where: tuple[int, int]) -> None:
        off, size = where
        if off + size > len(self.d):
            return
        addr, shift, value = self.base, 0, 0
        starts = []
        for byte in self.d[off : off + size]:
            value |= (byte & 0x7F) << shift
            if byte & 0x80:
                shift += 7
                continue
            if value == 0:
                break
            addr += value
            starts.append(addr)
            value, shift = 0, 0
        self.function_starts = starts

    def _chained(self, where: tuple[int, int], m: MachO) -> None:
        off, size = where
        d = self.d
        if off + 28 > len(d) or off + size > len(d):
            m.notes.append("chained-fixups data lies past the end of the file; imports from it were not read")
            return
        _v, starts, imports_off, symbols_off, count, imports_format, _sfmt = struct.unpack_from("<IIIIIII", d, off)
        # Pointer format: from the first segment with fixups.
        s = off + starts
        if s + 4 <= off + size:
            segs = struct.unpack_from("<I", d, s)[0]
            for i in range(min(segs, 64)):
                if s + 4 + 4 * i + 4 > off + size:
                    break
                info = struct.unpack_from("<I", d, s + 4 + 4 * i)[0]
                if info and s + info + 8 <= off + size:
                    self.chained_format = struct.unpack_from("<H", d, s + info + 6)[0]
                    break
        if not self.chained_format:
            self.chained_format = 2
        width = {1: 4, 2: 8, 3: 16}.get(imports_format)
        if width is None:
            m.notes.append(f"chained-fixups imports format {imports_format} is unknown; imports from it not read")
            return
        names_at = off + symbols_off
        if off + imports_off + count * width > off + size:
            m.notes.append("chained-fixups import table is truncated; imports from it were not read")
            return
        out = []
        for i in range(count):
            p = off + imports_off + i * width
            if imports_format == 3:
                name_off = struct.unpack_from("<Q", d, p)[0] >> 32
            else:
                name_off = struct.unpack_from("<I", d, p)[0] >> 9
            at = names_at + name_off
            if at >= off + size:
                out.append("")
                continue
            end = d.find(b"\0", at, off + size)
            out.append(d[at : end if end >= 0 else off + size].decode("utf-8", "replace"))
        self.chained_imports = out

    # -- Objective-C and Swift -----------------------------------------------------------------

    def _section(self, m: MachO, *names: str) -> list[Section]:
        return [s for s in m.sections if s.name in names and s.segment.startswith("__DATA")]

    def _pointers(self, sec: Section) -> list[tuple[int, int]]:
        """(address of slot, raw pointer) for each pointer-sized slot of a section."""
        off = self.off_of(sec.addr)
        if off is None or sec.size == 0:
            return []
        n = min(sec.size, len(self.d) - off) // self.ptr.size
        fmt = "<Q" if self.p64 else "<I"
        raw = self.d[off : off + n * self.ptr.size]
        return [(sec.addr + i * self.ptr.size, v[0]) for i, v in enumerate(struct.iter_unpack(fmt, raw))]

    def _class_name(self, cls_addr: int) -> str | None:
        ps = self.ptr.size
        kind, data = self.deref(cls_addr + 4 * ps)
        if kind != "addr":
            return None
        ro = data & ~7  # Swift and realised-class flag bits
        name_field = ro + (24 if self.p64 else 16)
        return self.name_via_ptr(name_field)

    def _import_name(self, ordinal: int) -> str | None:
        if 0 <= ordinal < len(self.chained_imports):
            return self.chained_imports[ordinal]
        return None

    def _objc(self, m: MachO) -> None:
        classes: list[str] = []
        refs: list[str] = []
        ps = self.ptr.size
        prefix = "_OBJC_CLASS_$_"
        for sec in self._section(m, "__objc_classlist", "__objc_nlclslist"):
            for _slot, raw in self._pointers(sec):
                kind, addr = self.decode_ptr(raw)
                if kind != "addr":
                    continue
                name = self._class_name(addr)
                if name:
                    classes.append(name)
                    if self.want_code:
                        self._class_methods(addr, name, m)
                skind, sup = self.deref(addr + ps)
                if skind == "bind":
                    sym = self._import_name(sup)
                    if sym and sym.startswith(prefix):
                        refs.append(sym[len(prefix) :])
        for sec in self._section(m, "__objc_classrefs", "__objc_superrefs"):
            for slot, raw in self._pointers(sec):
                kind, addr = self.decode_ptr(raw)
                name = None
                if kind == "none" and (bound := self.binds.get(slot, "")).startswith(prefix):
                    name = bound[len(prefix) :]
                if kind == "bind":
                    sym = self._import_name(addr)
                    if sym and sym.startswith(prefix):
                        name = sym[len(prefix) :]
                elif kind == "addr":
                    name = self._class_name(addr)
                if name:
                    refs.append(name)
                    self.slot_names[slot] = ("class", name)
        refs.extend(s[len(prefix) :] for s in m.imports if s.startswith(prefix))
        for sec in self._section(m, "__got", "__auth_got", "__la_symbol_ptr"):
            for slot, raw in self._pointers(sec):
                kind, ordinal = self.decode_ptr(raw)
                sym = self._import_name(ordinal) if kind == "bind" else self.binds.get(slot)
                if sym:
                    if sym.startswith(prefix):
                        self.slot_names[slot] = ("class", sym[len(prefix) :])
                    else:
                        self.slot_names[slot] = ("symbol", sym)
        sels: list[str] = []
        for sec in self._section(m, "__objc_selrefs"):
            for slot, raw in self._pointers(sec):
                kind, addr = self.decode_ptr(raw)
                if kind == "addr":
                    s = self.cstr_at(addr)
                    if s:
                        sels.append(s)
                        self.slot_names[slot] = ("selector", s)
                if len(sels) >= MAX_STRINGS:
                    m.notes.append(f"more than {MAX_STRINGS:,} selector references; the rest were not read")
                    break
        cats: list[str] = []
        for sec in self._section(m, "__objc_catlist", "__objc_nlcatlist"):
            for _slot, raw in self._pointers(sec):
                kind, addr = self.decode_ptr(raw)
                if kind != "addr":
                    continue
                name = self.name_via_ptr(addr)
                if not name:
                    continue
                ckind, cls = self.deref(addr + ps)
                owner = None
                if ckind == "addr":
                    owner = self._class_name(cls)
                elif ckind == "bind" and (sym := self._import_name(cls)) and sym.startswith(prefix):
                    owner = sym[len(prefix) :]
                cats.append(f"{owner}({name})" if owner else name)
                if self.want_code:
                    label = f"{owner or '?'}({name})"
                    self._method_list(addr + 2 * ps, label, "-", m)
                    self._method_list(addr + 3 * ps, label, "+", m)
        protos: list[str] = []
        for sec in self._section(m, "__objc_protolist"):
            for _slot, raw in self._pointers(sec):
                kind, addr = self.decode_ptr(raw)
                if kind == "addr":
                    name = self.name_via_ptr(addr + ps)
                    if name:
                        protos.append(name)
        m.objc_classes = list(dict.fromkeys(classes))
        m.objc_class_refs = list(dict.fromkeys(refs))
        m.objc_selectors = list(dict.fromkeys(sels))
        m.objc_categories = list(dict.fromkeys(cats))
        m.objc_protocols = list(dict.fromkeys(protos))
        swift = [t for c in m.objc_classes if (t := swift_class_name(c))]
        swift.extend(self._swift_types(m))
        m.swift_types = list(dict.fromkeys(swift))

    def _class_methods(self, cls_addr: int, name: str, m: MachO) -> None:
        ps = self.ptr.size
        for cls, sign in ((cls_addr, "-"), (None, "+")):
            if cls is None:
                kind, meta = self.deref(cls_addr)  # isa: the metaclass holds the class methods
                if kind != "addr":
                    continue
                cls = meta
            kind, data = self.deref(cls + 4 * ps)
            if kind != "addr":
                continue
            ro = data & ~7
            self._method_list(ro + (32 if self.p64 else 20), name, sign, m)

    def _method_list(self, field_addr: int, cls: str, sign: str, m: MachO) -> None:
        kind, lst = self.deref(field_addr)
        if kind != "addr":
            return
        off = self.off_of(lst)
        if off is None or off + 8 > len(self.d):
            return
        flags, count = struct.unpack_from("<II", self.d, off)
        entsize = flags & 0xFFFC
        relative = bool(flags & 0x80000000)
        if entsize < (12 if relative else 3 * self.ptr.size) or off + 8 + count * entsize > len(self.d):
            return
        ps = self.ptr.size
        block = self.d[off + 8 : off + 8 + count * entsize]
        fmt = "<iii" if relative else ("<QQQ" if ps == 8 else "<III")
        pad = entsize - struct.calcsize(fmt)
        if pad:
            fmt += f"{pad}x"
        decode = self.decode_ptr
        for i, (a, _types, c) in enumerate(struct.iter_unpack(fmt, block)):
            ent = lst + 8 + i * entsize
            if relative:
                sel = self.name_via_ptr(ent + a)  # a selector reference, not the string itself
                imp = ent + 8 + c
            else:
                k, sel_addr = decode(a)
                sel = self.cstr_at(sel_addr) if k == "addr" else None
                k2, imp = decode(c)
                if k2 != "addr":
                    continue
            if sel and imp:
                label = f"{sign}[{cls} {sel}]"
                m.methods[imp] = label

    def _swift_types(self, m: MachO) -> list[str]:
        out: list[str] = []
        for sec in m.sections:
            if sec.name != "__swift5_types":
                continue
            off = self.off_of(sec.addr)
            if off is None or not self.readable(off):
                continue
            for i in range(min(sec.size, len(self.d) - off) // 4):
                rel = struct.unpack_from("<i", self.d, off + 4 * i)[0]
                if rel & 1:
                    continue  # indirect: the descriptor lives in another image
                name = self._context_name(sec.addr + 4 * i + (rel & ~3))
                if name:
                    out.append(name)
        return out

    def _context_name(self, addr: int, depth: int = 0) -> str | None:
        off = self.off_of(addr)
        if off is None or depth > 8 or off + 12 > len(self.d) or not self.readable(off):
            return None
        _flags, parent_rel, name_rel = struct.unpack_from("<Iii", self.d, off)
        kind = _flags & 0x1F
        if kind == 0:  # module: parent is 0, name is the module name
            return self.cstr_at(addr + 8 + name_rel)
        if kind not in (16, 17, 18):  # class, struct, enum
            return None
        name = self.cstr_at(addr + 8 + name_rel)
        if not name or parent_rel == 0 or parent_rel & 1:
            return name
        parent = self._context_name(addr + 4 + parent_rel, depth + 1)
        return f"{parent}.{name}" if parent else name

    # -- strings -------------------------------------------------------------------------------

    def _strings(self, m: MachO) -> None:
        out: list[str] = []
        for sec in m.sections:
            is_cstrings = sec.flags & 0xFF == S_CSTRING_LITERALS or sec.name in ("__cstring", "__oslogstring")
            if not is_cstrings or sec.name.startswith(("__objc_", "__swift")) or sec.segment != "__TEXT":
                continue
            if sec.offset + sec.size > len(self.d):
                m.notes.append(f"section {sec.segment},{sec.name} runs past the end of the file; not read")
                continue
            if not self.readable(sec.offset):
                continue
            addr = sec.addr
            for raw in self.d[sec.offset : sec.offset + sec.size].split(b"\0"):
                if len(raw) >= 4:
                    text = raw[:MAX_STRING].decode("utf-8", "replace")
                    out.append(text)
                    self.string_at[addr] = text
                addr += len(raw) + 1
            if len(out) >= MAX_STRINGS:
                m.notes.append(f"more than {MAX_STRINGS:,} C strings; the rest were not read")
                break
        m.cstrings = list(dict.fromkeys(out[:MAX_STRINGS]))
        cfs: list[str] = []
        ps = self.ptr.size
        for sec in self._section(m, "__cfstring"):
            off = self.off_of(sec.addr)
            if off is None:
                continue
            size = 4 * ps
            for i in range(min(sec.size, len(self.d) - off) // size):
                at = off + i * size
                flags = struct.unpack_from("<I", self.d, at + ps)[0]
                kind, addr = self.decode_ptr(self.pointer_at_off(at + 2 * ps))
                length = self.pointer_at_off(at + 3 * ps) & 0xFFFFFFFF
                if kind != "addr":
                    continue
                soff = self.off_of(addr)
                if soff is None or not self.readable(soff):
                    continue
                text: str | None
                if flags & 0x18 == 0x10:  # 0x7d0: UTF-16 contents; 0x7c8: 8-bit
                    text = self.d[soff : soff + min(length, MAX_STRING) * 2].decode("utf-16-le", "replace")
                else:
                    text = self.cstr_at(addr)
                if text is not None:
                    cfs.append(text)
                    if self.want_code:
                        self.string_at[sec.addr + i * size] = text
        m.cfstrings = list(dict.fromkeys(cfs))

    # -- code ----------------------------------------------------------------------------------

    def _code(self, m: MachO) -> None:
        """Which function loads which class, selector, imported symbol or string.

        arm64 code reaches data through ``adrp`` (the 4 KiB page) and then ``ldr``/``add`` (the
        offset in the page) on the same register; the pair gives the address of a class or selector
        reference slot, a GOT slot or a string. Only ``adrp`` words are found by scanning (a byte
        pattern over the top byte of each word), so a large binary costs little.
        """
        if m.arch not in ("arm64", "arm64e") or not (self.slot_names or self.string_at):
            return
        starts = sorted(set(self.function_starts).union(self.symbol_at, m.methods))
        names = m.methods
        label = self._function_label
        targets = self.slot_names
        strings = self.string_at
        out: list[tuple[str, str, str]] = []
        seen: set[tuple[int, int]] = set()
        # Only pages holding a reference slot or a string can give an answer.
        pages = {a & ~0xFFF for a in targets} | {a & ~0xFFF for a in strings}
        stubs = self._stub_symbols(m)
        for sec in m.sections:
            if sec.name != "__text" or sec.segment != "__TEXT":  # stubs would be charged to the last function
                continue
            if sec.offset + sec.size > len(self.d) or sec.size < 8:
                continue
            code = self.d[sec.offset : sec.offset + sec.size - sec.size % 4]
            words = struct.unpack(f"<{len(code) // 4}I", code)
            tops = code[3::4]
            base = sec.addr
            last = len(words)
            for hit in _ADRP_TOP.finditer(tops):
                i = hit.start()
                w = words[i]
                reg = w & 31
                imm = ((w >> 3) & 0x1FFFFC) | ((w >> 29) & 3)
                if imm & 0x100000:
                    imm -= 0x200000
                pc = base + 4 * i
                page = (pc & ~0xFFF) + (imm << 12)
                if page not in pages:
                    continue
                for j in range(i + 1, i + 9 if i + 9 < last else last):
                    u = words[j]
                    if (u >> 5) & 31 == reg:
                        if u & 0xFFC00000 == 0xF9400000:  # ldr x, [reg, #imm*8]
                            target = page + ((u >> 10) & 0xFFF) * 8
                        elif u & 0xFF800000 == 0x91000000:  # add x, reg, #imm
                            target = page + (((u >> 10) & 0xFFF) << (12 if u >> 22 & 1 else 0))
                        else:
                            continue
                    elif u & 31 == reg and u & 0x9F000000 == 0x90000000:
                        break  # the register was loaded with another page
                    else:
                        continue
                    hit_t = targets.get(target)
                    if hit_t is None:
                        text = strings.get(target)
                        if text is None:
                            break
                        hit_t = ("string", text)
                    k = bisect.bisect_right(starts, pc) - 1
                    fn = starts[k] if k >= 0 else 0
                    key = (fn, target)
                    if key not in seen:
                        seen.add(key)
                        out.append((names.get(fn) or label(fn), hit_t[0], hit_t[1]))
                    break
            if stubs:
                # A call to a C function goes through its stub: ``bl <stub>``.
                for hit in _BL_TOP.finditer(tops):
                    i = hit.start()
                    imm = words[i] & 0x3FFFFFF
                    if imm & 0x2000000:
                        imm -= 0x4000000
                    pc = base + 4 * i
                    sym = stubs.get(pc + 4 * imm)
                    if sym is None:
                        continue
                    k = bisect.bisect_right(starts, pc) - 1
                    fn = starts[k] if k >= 0 else 0
                    key = (fn, pc + 4 * imm)
                    if key not in seen:
                        seen.add(key)
                        out.append((names.get(fn) or label(fn), "symbol", sym))
        m.code_refs = out

    def _function_label(self, addr: int) -> str:
        """The symbol defined at ``addr``, else ``sub_<address>``."""
        strx = self.symbol_at.get(addr)
        if strx is None:
            return f"sub_{addr:x}"
        end = self.strtab.find(b"\0", strx)
        name = self.strtab[strx : end if end >= 0 else len(self.strtab)].decode("utf-8", "replace")
        return name or f"sub_{addr:x}"

    def _stub_symbols(self, m: MachO) -> dict[int, str]:
        """Stub address -> imported C function, for the functions worth a per-call look.

        Each arm64 stub is ``adrp x16, page; ldr x16, [x16, #off]; br x16`` through a bound slot.
        The Objective-C and Swift runtime entry points are left out: every method calls them and
        they say nothing about the data the code takes.
        """
        out: dict[int, str] = {}
        for sec in m.sections:
            if sec.flags & 0xFF != 0x8 or sec.segment != "__TEXT" or sec.offset + sec.size > len(self.d):
                continue
            for at in range(sec.offset, sec.offset + sec.size - 7, 4):
                w, u = struct.unpack_from("<II", self.d, at)
                if w & 0x9F00001F != 0x90000010 or u & 0xFFC003FF != 0xF9400210:
                    continue
                pc = sec.addr + (at - sec.offset)
                imm = ((w >> 3) & 0x1FFFFC) | ((w >> 29) & 3)
                if imm & 0x100000:
                    imm -= 0x200000
                slot = (pc & ~0xFFF) + (imm << 12) + ((u >> 10) & 0xFFF) * 8
                hit = self.slot_names.get(slot)
                if hit and hit[0] == "symbol" and not hit[1].startswith(_RUNTIME):
                    out[pc] = hit[1]
        return out


# segment_command(_64) after cmd/cmdsize: segname, vmaddr, vmsize, fileoff, filesize, (maxprot,
# initprot,) nsects (flags ignored); then the section header of the same width.
_SEGMENT_64 = (struct.Struct("<16sQQQQ8xI4x"), struct.Struct("<16s16sQQIIIIIIII"))
_SEGMENT_32 = (struct.Struct("<16sIIII8xI4x"), struct.Struct("<16s16sIIIIIIIII"))
_ADRP_TOP = re.compile(rb"[\x90\xb0\xd0\xf0]")
_BL_TOP = re.compile(rb"[\x94-\x97]")
_RUNTIME = ("_objc_", "_swift_", "dyld_stub_binder", "__objc_", "_OBJC_")


def _cname(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def _version(v: int) -> str:
    major, minor, patch = v >> 16, (v >> 8) & 0xFF, v & 0xFF
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def swift_class_name(name: str) -> str | None:
    """``_TtC5MyApp14ViewController`` -> ``MyApp.ViewController``; ``None`` for other names.

    Only the old-style mangling that Swift uses for the Objective-C names of its classes, which
    needs no demangler: a run of kind letters, then length-prefixed identifiers.
    """
    if not name.startswith("_Tt"):
        return None
    i = 3
    while i < len(name) and name[i] in "CPVO":
        i += 1
    if i < len(name) and name[i] == "s":  # the standard library's module
        parts, i = ["Swift"], i + 1
    else:
        parts = []
    while i < len(name) and name[i].isdigit():
        j = i
        while j < len(name) and name[j].isdigit():
            j += 1
        n = int(name[i:j])
        if n == 0 or j + n > len(name):
            return None
        parts.append(name[j : j + n])
        i = j + n
    return ".".join(parts) if len(parts) >= 2 and i == len(name) else None
