"""Random ids from a buffer of the OS's randomness: valid, never repeated, not shared on fork."""

from __future__ import annotations

import os
import uuid

from wijkbus import randomness


def test_uuid4_text_is_a_version_4_uuid_written_as_uuid_writes_it() -> None:
    for _ in range(1000):
        text = randomness.uuid4_text()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text


def test_no_bytes_are_handed_out_twice_across_refills() -> None:
    ids = {randomness.uuid4_text() for _ in range(5000)}  # ~20 refills of the buffer
    assert len(ids) == 5000
    chunks = [randomness.random_bytes(8) for _ in range(2000)]
    assert len(set(chunks)) == 2000
    assert len(randomness.random_hex(16)) == 32


def test_a_forked_child_does_not_reuse_the_parents_buffer() -> None:
    randomness.random_bytes(1)  # the parent's buffer is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it would hand out next
        os.write(write, randomness.random_bytes(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.close(read)
    os.waitpid(pid, 0)
    assert child != randomness.random_bytes(32)
