"""kit.replica's arithmetic (the replica itself is exercised in tests/faults/test_replica.py)."""

from __future__ import annotations

from vncomply.kit import replica


def test_lsn_text_to_a_position() -> None:
    assert replica.lsn("0/0") == 0
    assert replica.lsn("0/16B3748") == 0x16B3748
    assert replica.lsn("1/0") == 1 << 32
    assert replica.lsn("A/FF") == (10 << 32) + 255


def test_a_replayed_position_covers_everything_before_it() -> None:
    assert replica.covers(100, 100, 8192)
    assert replica.covers(101, 100, 8192)
    assert not replica.covers(99, 100, 8192)


def test_a_page_boundary_covers_the_next_page_header_only() -> None:
    # The primary's insert position after a record that ends at a page boundary points past the
    # next page's header (24 bytes, 40 at a segment start); the replica stops at the boundary.
    page = 8192 * 5
    assert replica.covers(page, page + 24, 8192)
    assert replica.covers(page, page + 40, 8192)
    assert not replica.covers(page, page + 48, 8192)
    assert not replica.covers(page - 8, page + 24, 8192)  # not at a boundary: a record is missing


async def test_without_a_replica_every_read_is_the_primarys() -> None:
    before = replica.READS.labels("primary", "no_replica")._value.get()
    assert await replica.read_rows("SELECT 1", {}) is None
    assert not await replica.fresh()
    assert replica.READS.labels("primary", "no_replica")._value.get() == before + 1
