"""Suite-wide fixtures.

After each test the process gives freed memory back to the operating system: building one full-size
model per config file (tests/config) otherwise leaves several GiB of freed tensor memory inside
glibc's heap, and the suite's resident size then grows with every config added."""

import ctypes
import gc
import sys

import pytest

try:
    _LIBC = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None
except OSError:  # not glibc (musl, ...): nothing to trim
    _LIBC = None


@pytest.fixture(autouse=True)
def _release_memory():
    yield
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
