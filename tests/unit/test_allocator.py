"""When ``python -m servers`` re-executes itself on the C library's malloc."""

from __future__ import annotations

from servers.allocator import ENV, glibc_version, wants_reexec


def test_glibc_with_no_allocator_chosen_reexecutes() -> None:
    assert wants_reexec({}, "glibc 2.36")


def test_an_allocator_already_chosen_is_kept() -> None:
    for chosen in ("malloc", "pymalloc", "debug", ""):
        assert not wants_reexec({ENV: chosen}, "glibc 2.36")


def test_other_c_libraries_keep_pymalloc() -> None:
    assert not wants_reexec({}, None)
    assert not wants_reexec({}, "musl 1.2")


def test_this_machines_c_library_is_read() -> None:
    version = glibc_version()
    assert version is None or version.startswith("glibc ")
