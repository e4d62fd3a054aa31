"""appvet's errors. The CLI catches ``AppvetError`` once and prints ``diagnostics()`` on one line.

    AppvetError                     exit 3 unless a subclass says otherwise
     ├── InputError                 exit 2: the file given cannot be reviewed
     │    ├── ArchiveError          not a readable zip / APK / bundle
     │    ├── LimitExceeded         a safety limit was hit (size, entries, ratio, time)
     │    └── FormatError           a required format inside is broken (AXML, DEX, signing block ...)
     ├── UsageError                 exit 2: bad options or arguments
     └── KnowledgeBaseError         exit 3: the packaged or overlay KB does not validate

Format readers raise ``FormatError`` for any malformed input, never ``IndexError``/``struct.error``.
Passes turn a ``FormatError`` in a non-essential part into a ``Skip`` and carry on.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_POLICY_FAILED = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class AppvetError(Exception):
    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file

    def diagnostics(self) -> str:
        """One line for a person: which file, what is wrong."""
        return f"{self.file}: {self.message}" if self.file else self.message


class InputError(AppvetError):
    exit_code = EXIT_INPUT


class ArchiveError(InputError):
    pass


class LimitExceeded(InputError):
    pass


class FormatError(InputError):
    pass


class UsageError(AppvetError):
    exit_code = EXIT_INPUT


class KnowledgeBaseError(AppvetError):
    exit_code = EXIT_INTERNAL
