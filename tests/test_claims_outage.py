"""The fleet's delivery claim across a short database outage (a PostgreSQL restart).

Deciding alone the moment the database fails lets two processes answer the same redelivered
event; the claim waits a few seconds for the database to return and takes its word."""

from __future__ import annotations

from askdesk.bots.claims import SharedKeys


class FlakyDatabase:
    """An insert-or-skip claim table that is unreachable for its first `down_for` calls."""

    def __init__(self, down_for: int) -> None:
        self.down_for = down_for
        self.calls = 0
        self.rows: set[str] = set()

    def claim(self, key: str) -> bool:
        self.calls += 1
        if self.calls <= self.down_for:
            raise ConnectionError("server closed the connection unexpectedly")
        if key in self.rows:
            return False
        self.rows.add(key)
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_claim_during_a_short_outage_waits_for_the_database_and_takes_its_word():
    db = FlakyDatabase(down_for=4)
    db.rows.add("Ev1")  # the other process took this delivery before the restart
    clock = FakeClock()
    keys = SharedKeys(db.claim, clock=clock, sleep=clock.sleep, outage_wait_s=5.0)
    assert keys.claim("Ev1") is False  # not answered a second time here
    assert db.calls == 5
    assert 0 < clock.now <= 5.0
    assert keys.claim("Ev2") is True  # the database is back: a new key is ours


def test_a_long_outage_decides_in_this_process_after_the_wait(caplog):
    db = FlakyDatabase(down_for=10_000)
    clock = FakeClock()
    keys = SharedKeys(db.claim, clock=clock, sleep=clock.sleep, outage_wait_s=5.0)
    assert keys.claim("Ev1") is True  # the asker still gets an answer (or the apology)
    assert 4.5 <= clock.now <= 5.0
    assert "deciding in this process" in caplog.text
    assert keys.claim("Ev1") is False  # and this process never takes it twice


def test_a_claim_that_must_not_block_decides_at_once_in_an_outage():
    db = FlakyDatabase(down_for=10_000)
    clock = FakeClock()
    keys = SharedKeys(db.claim, clock=clock, sleep=clock.sleep, outage_wait_s=5.0)
    assert keys.claim("event:Ev1", wait=False) is True
    assert clock.now == 0.0  # Slack's ack was not held
