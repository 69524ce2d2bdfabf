"""Backoff (R6): full jitter under a 30 s cap, growth in expectation, per-worker randomness, reset after health."""

from __future__ import annotations

import random
import statistics

from control_plane.sync.backoff import Backoff


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ceiling(random.Random):
    """Jitter that always draws the top of its range, so the bound itself is visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Floor(random.Random):
    """Jitter that always draws zero."""

    def uniform(self, a: float, b: float) -> float:
        return a


def failures(backoff: Backoff, clock: FakeClock, count: int) -> list[float]:
    """The delays of `count` consecutive failures, each retried after its delay (as a worker would)."""
    delays = []
    for _ in range(count):
        delays.append(backoff.next_delay())
        clock.now += delays[-1]
    return delays


def test_bounds_double_from_0_8_s_up_to_the_30_s_cap():
    clock = FakeClock()
    assert failures(Backoff(clock=clock, rng=Ceiling()), clock, 9) == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 30, 30]


def test_delays_stay_within_zero_and_the_cap():
    clock = FakeClock()
    delays = failures(Backoff(clock=clock, rng=random.Random(7)), clock, 500)
    assert all(0 <= delay <= 30 for delay in delays)
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule


def test_mean_delay_grows_until_the_cap_as_full_jitter():
    """Full jitter draws uniformly below the bound, so the k-th delay averages half of min(30, 0.8 * 2**k)."""
    clock = FakeClock()
    backoff = Backoff(clock=clock, rng=random.Random(11))
    samples: list[list[float]] = [[] for _ in range(9)]
    for _ in range(3000):
        backoff.reset()
        for attempt, delay in enumerate(failures(backoff, clock, 9)):
            samples[attempt].append(delay)
    means = [statistics.fmean(delays) for delays in samples]
    for attempt, mean in enumerate(means):
        expected = min(30.0, 0.8 * 2**attempt) / 2
        assert abs(mean - expected) < 0.06 * expected, (attempt, mean, expected)
    assert means[:7] == sorted(means[:7])


def test_two_workers_draw_different_delays():
    clock = FakeClock()
    assert failures(Backoff(clock=clock), clock, 10) != failures(Backoff(clock=clock), clock, 10)


def test_failures_after_a_healthy_spell_start_again_from_the_initial_delay():
    clock = FakeClock()
    backoff = Backoff(clock=clock, rng=Ceiling())
    for _ in range(5):
        backoff.next_delay()
    clock.now += 119  # not long enough since the last failure: still escalating
    assert backoff.next_delay() == 25.6
    clock.now += 120.5
    assert backoff.next_delay() == 0.8
    assert backoff.attempts == 1


def test_reset_forgets_the_failures():
    clock = FakeClock()
    backoff = Backoff(clock=clock, rng=Ceiling())
    failures(backoff, clock, 4)
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 0.8


def test_retry_after_raises_the_delay_but_never_past_the_cap():
    clock = FakeClock()
    backoff = Backoff(clock=clock, rng=Floor())
    assert backoff.next_delay(retry_after=5) == 5
    assert backoff.next_delay(retry_after=120) == 30
    assert backoff.next_delay() == 0
    assert Backoff(clock=clock, rng=Ceiling()).next_delay(retry_after=0.1) == 0.8  # a short Retry-After is a floor


def test_a_stream_failing_for_hours_keeps_the_cap():
    clock = FakeClock()
    backoff = Backoff(clock=clock, rng=Ceiling())
    assert failures(backoff, clock, 3000)[-1] == 30
    assert backoff.attempts == 3000
