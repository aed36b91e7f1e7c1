"""How nnspec touches the disk: one module below every layer (it imports only NumPy).

Reading: only regular files are read (a FIFO, a device or a folder given as a
document, weights or data file is refused at once instead of hanging or reading
forever), and NumPy files are read header first — every ``.npy`` header (also inside
a ``.npz``) is checked against the caller's element limit and against the bytes
actually stored before any array is allocated, so a 2^40-element header or a zip bomb
costs nothing.

Writing: `write_atomic` is the one writer. A regular file appears whole or not at all
(temporary file in the same folder, fsync, rename); a replaced file keeps its
permission bits, a new one gets the umask's. A character device (``/dev/null``) or a
FIFO with a reader is written through, never replaced by a rename; anything else
that is not a regular file is refused. Symbolic links are followed, so the file they
point at is updated and the link stays.

Every failure is an `OSError` whose ``filename`` is the path and whose ``strerror``
says what is wrong and what to do, so a command can print it as it is.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob
import os
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

import numpy as np

from nnspec.portable import Portable

PathLike = str | os.PathLike[str]
Writer = Callable[[IO[bytes]], object]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refusal(path: PathLike, reason: str, code: int = errno.EINVAL) -> OSError:
    """An `OSError` naming `path`, for problems the operating system did not report."""
    return OSError(code, reason, os.fsdecode(path))


def kind_of(mode: int) -> str:
    """'a FIFO (named pipe)', 'a folder', ... for a stat mode that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_path_text(path: PathLike) -> str:
    """`path` as text, refusing NUL bytes and lone surrogates (no file can have them
    on every system, and they crash writers far from here)."""
    text = os.fsdecode(path)
    if "\0" in text:
        raise refusal(text.replace("\0", "\\0"), "the path holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        raise refusal(shown, "the path is not valid text (a lone surrogate)") from None
    return text


# ---------------------------------------------------------------------------- reading


def open_regular(path: PathLike) -> IO[bytes]:
    """`path` opened for reading, if it is a regular file (never blocks on a FIFO)."""
    name = check_path_text(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(name, flags | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
            reason = f"is {kind_of(mode)}, not a file; give the path of a regular file"
            raise refusal(name, reason, code)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: PathLike, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of a regular file (one more shows it is too long)."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size  # read(n) allocates n bytes up front
        return handle.read(min(size, max_bytes) + 1)


class ArrayFileError(Portable, ValueError):
    """A NumPy file (or one member of an archive) that nnspec will not load.

    `where` names the file (and member), `reason` says what is wrong.
    """

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def _header(handle: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran order) of the ``.npy`` stream at `handle`, data not read."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ArrayFileError(where, f"unsupported .npy format version {version}")
    except (ValueError, SyntaxError, EOFError) as exc:
        if isinstance(exc, ArrayFileError):
            raise
        raise ArrayFileError(where, f"not a NumPy array ({exc})") from None
    if dtype.hasobject:
        raise ArrayFileError(
            where, "holds Python objects (pickle), which nnspec never loads; save numeric arrays"
        )
    return tuple(shape), dtype, fortran


def _element_count(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def read_npy(
    handle: IO[bytes],
    *,
    where: str,
    max_elements: int,
    stored_bytes: int | None,
    accept: Callable[[tuple[int, ...], np.dtype], None] | None = None,
) -> np.ndarray:
    """One array from a ``.npy`` stream, its header checked before anything is allocated.

    `stored_bytes` is how many bytes the stream holds (file size, or an archive
    member's uncompressed size); a header that promises more data than that is a lie.
    `accept` may refuse a header (shape or dtype the caller cannot use) by raising.
    """
    start = handle.tell()
    shape, dtype, fortran = _header(handle, where)
    count = _element_count(shape)
    if count > max_elements:
        raise ArrayFileError(
            where, f"the array has {count:,} elements, more than the limit of {max_elements:,}"
        )
    if stored_bytes is not None and count * dtype.itemsize > stored_bytes - (handle.tell() - start):
        raise ArrayFileError(
            where,
            f"the header promises {count * dtype.itemsize:,} bytes of data, but the file "
            "holds fewer; it is truncated or not what it claims",
        )
    if accept is not None:
        accept(shape, dtype)
    data = handle.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ArrayFileError(where, "the file is truncated")
    array = np.frombuffer(data, dtype=dtype, count=count).copy()
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)


def npz_members(
    archive: zipfile.ZipFile, where: str, max_members: int
) -> Iterator[zipfile.ZipInfo]:
    """The ``.npy`` members of an opened archive, refusing odd names and too many members."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ArrayFileError(where, f"holds {len(infos):,} members, more than {max_members:,}")
    for info in infos:
        if info.is_dir() or not info.filename.endswith(".npy"):
            raise ArrayFileError(
                where,
                f"member {info.filename!r} is not a .npy array; write the archive with numpy.savez",
            )
        yield info


def read_npz(
    path: PathLike,
    *,
    max_elements: int,
    wanted: Callable[[str], bool] = lambda name: True,
    accept: Callable[[str, tuple[int, ...], np.dtype], None] | None = None,
    max_members: int = 100_000,
) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` archive whose names `wanted` accepts, headers checked first.

    `max_elements` bounds all loaded arrays together; `accept(name, shape, dtype)` may
    refuse a member from its header alone. Raises `ArrayFileError` or `OSError`.
    """
    where = os.fsdecode(path)
    arrays: dict[str, np.ndarray] = {}
    budget = max_elements
    with open_regular(path) as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise ArrayFileError(where, f"not a .npz archive ({exc})") from None
        with archive:
            for info in npz_members(archive, where, max_members):
                name = info.filename[: -len(".npy")]
                if not wanted(name):
                    continue
                member = f"{where}: {name!r}"
                check = None if accept is None else (lambda s, d, n=name: accept(n, s, d))
                try:
                    with archive.open(info) as stream:
                        array = read_npy(
                            stream,
                            where=member,
                            max_elements=budget,
                            stored_bytes=info.file_size,
                            accept=check,
                        )
                except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
                    raise ArrayFileError(member, f"cannot be read ({exc})") from None
                budget -= array.size
                arrays[name] = array
    return arrays


def npz_headers(
    path: PathLike, max_members: int = 100_000
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Name -> (shape, dtype) of every array in a ``.npz`` archive; only headers are read."""
    where = os.fsdecode(path)
    headers = {}
    with open_regular(path) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                for info in npz_members(archive, where, max_members):
                    name = info.filename[: -len(".npy")]
                    with archive.open(info) as stream:
                        shape, dtype, _ = _header(stream, f"{where}: {name!r}")
                    headers[name] = (shape, dtype)
        except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
            raise ArrayFileError(where, f"not a readable .npz archive ({exc})") from None
        except ValueError as exc:
            if isinstance(exc, ArrayFileError):
                raise
            raise ArrayFileError(where, f"not a .npz archive ({exc})") from None
    return headers


def npz_names(path: PathLike) -> list[str]:
    """The array names in a ``.npz`` archive, from its directory alone."""
    where = os.fsdecode(path)
    with open_regular(path) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                return [i.filename[: -len(".npy")] for i in npz_members(archive, where, 100_000)]
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            if isinstance(exc, ArrayFileError):
                raise
            raise ArrayFileError(where, f"not a .npz archive ({exc})") from None


def load_npy(path: PathLike, *, max_elements: int) -> np.ndarray:
    """One array from a ``.npy`` file, header checked against its size and the limit."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        return read_npy(
            handle, where=os.fsdecode(path), max_elements=max_elements, stored_bytes=size
        )


def numpy_kind(path: PathLike) -> str | None:
    """ ".npz" or ".npy" from the first bytes of the regular file at `path`, else None."""
    with open_regular(path) as handle:
        start = handle.read(6)
    if start.startswith(b"PK\x03\x04"):  # every .npz is a zip archive
        return ".npz"
    return ".npy" if start == b"\x93NUMPY" else None


def write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """What numpy.savez writes, without its keyword clashes (an array named "file")
    and without its clock: members carry a fixed date, so equal arrays give equal bytes.

    Members are streamed; the size hint lets zipfile add Zip64 headers only to a member
    that needs them (numpy.savez forces them on all), so the bytes equal those of
    ``ZipFile.writestr``, the way a compiled module's ``save_weights`` writes.
    """
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            a = np.asarray(a)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = a.nbytes  # a hint (the .npy header is not counted); set on close
            with zf.open(info, "w") as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


# ---------------------------------------------------------------------------- writing


def write_atomic(path: PathLike, content: bytes | str | Writer) -> None:
    """Write `content` (bytes, text as UTF-8, or a function writing to a binary file)
    to `path` by the rules in the module docstring."""
    write: Writer
    if isinstance(content, str):
        data = content.encode("utf-8")
        write = lambda f: f.write(data)  # noqa: E731
    elif isinstance(content, bytes):
        write = lambda f: f.write(content)  # noqa: E731
    else:
        write = content
    target = os.path.realpath(check_path_text(path))
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        _write_through(os.fsdecode(path), target, mode, write)
        return
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise refusal(path, f"the folder {folder} does not exist; create it first", errno.ENOENT)
    fd, temp = _create_temp(folder, os.path.basename(target))
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:  # a replaced file keeps its mode; a new one has the umask's
            os.chmod(temp, stat.S_IMODE(mode))
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError) and exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), os.fsdecode(path)) from None
        raise


def _write_through(shown: str, target: str, mode: int, write: Writer) -> None:
    """Write into a device or FIFO in place; a FIFO without a reader is refused, not waited on."""
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise refusal(shown, f"is {kind_of(mode)}; give the path of a file to write")
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise refusal(shown, "is a FIFO that nobody reads; start the reader first") from None
        raise OSError(exc.errno, exc.strerror, shown) from None
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, shown) from None


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    """(fd, path) of a new hidden file ``.NAME.<random>.tmp`` in `folder`, created with
    mode 0o666 so that the kernel applies the umask. Reading the umask would mean
    setting it (outside Linux's /proc), and while it is changed other threads of the
    process (a Dask worker's) would create files with the wrong mode."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(temp, flags, 0o666), temp


# ---------------------------------------------------------------------------- globs


def expand_glob(pattern: str) -> list[str]:
    """The files `pattern` names, sorted, each file once (by identity, so two links to
    one file count once). ``**`` matches any number of folders; symbolic links to
    folders are followed, but a folder already visited is never entered again, so a
    link loop costs one visit instead of a walk 40 levels deep. Like `glob.glob`,
    ``*`` and ``?`` do not match a leading dot."""
    parts = pattern.split(os.sep) if os.sep in pattern else pattern.split("/")
    if "**" not in parts:
        found = glob.glob(pattern)
    else:
        fixed = 0
        while fixed < len(parts) and not glob.has_magic(parts[fixed]):
            fixed += 1
        base = os.sep.join(parts[:fixed]) or ("" if not pattern.startswith(os.sep) else os.sep)
        found = _walk_matches(base, tuple(parts[fixed:]))
    unique: dict[object, str] = {}
    for path in sorted(found, key=lambda p: (p.count(os.sep), p)):  # shortest name wins
        if not os.path.isdir(path):
            unique.setdefault(file_identity(path)[1] or path, path)
    return sorted(unique.values())


def _walk_matches(base: str, rest: tuple[str, ...]) -> list[str]:
    found = []
    seen: set[str] = set()
    for folder, dirs, files in os.walk(base or os.curdir, followlinks=True):
        seen.add(os.path.realpath(folder))
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(folder, d)) not in seen)
        relative = os.path.relpath(folder, base or os.curdir)
        prefix = () if relative == os.curdir else tuple(relative.split(os.sep))
        found += [
            os.path.join(folder, name) if base else os.path.join(*prefix, name)
            for name in files
            if _segments_match(rest, (*prefix, name))
        ]
    return found


def _segments_match(parts: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    """Whether path `segments` match glob `parts` (``**`` = zero or more segments)."""
    if not parts:
        return not segments
    if parts[0] == "**":
        if any(s.startswith(".") for s in segments[:-1]):
            return False  # ** does not descend into hidden folders
        return any(_segments_match(parts[1:], segments[i:]) for i in range(len(segments) + 1))
    if not segments or (segments[0].startswith(".") and not parts[0].startswith(".")):
        return False
    return fnmatch.fnmatchcase(segments[0], parts[0]) and _segments_match(parts[1:], segments[1:])


# ---------------------------------------------------------------------------- clashes


def file_identity(path: PathLike) -> tuple[str, tuple[int, int] | None]:
    """What makes two paths the same file: the resolved path, and (device, inode) if it exists."""
    resolved = os.path.realpath(os.fsdecode(path))
    try:
        info = os.stat(resolved)
    except (OSError, ValueError):
        return resolved, None
    return resolved, (info.st_dev, info.st_ino)


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when `a` and `b` name one file (links resolved, hard links included)."""
    (path_a, id_a), (path_b, id_b) = file_identity(a), file_identity(b)
    return path_a == path_b or (id_a is not None and id_a == id_b)


def clashes(inputs: Iterable[PathLike], outputs: Iterable[PathLike]) -> list[tuple[str, str, str]]:
    """(output, other path, 'input' | 'output') for every output that names the same
    file as an input or as another output. Device files such as /dev/null never clash."""
    found = []
    seen_inputs = list(dict.fromkeys(os.fsdecode(p) for p in inputs))
    seen_outputs: list[str] = []
    for out in (os.fsdecode(p) for p in outputs):
        if _is_device(out):
            continue
        found += [(out, i, "input") for i in seen_inputs if same_file(out, i)]
        found += [(out, o, "output") for o in seen_outputs if same_file(out, o)]
        seen_outputs.append(out)
    return found


def _is_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
