"""The one needle-site log: presses become spans, with one behaviour for every caller."""

from __future__ import annotations

import threading

import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.core.sites import SiteLog


def test_needle_in_and_out_make_spans() -> None:
    log = SiteLog()
    assert log.active is None and log.open_site is None and log.sites(10.0) == ()
    opened = log.needle_in("R upper trapezius TrP1", 2.0, muscle="upper trapezius", side="R")
    assert (opened.onset_s, opened.duration_s) == (2.0, 0.0)
    assert log.active == "R upper trapezius TrP1" and log.open_site == opened
    assert log.sites() == ()  # the open span is left out without a "now"
    (open_,) = log.sites(now_s=5.0)
    assert (open_.onset_s, open_.duration_s) == (2.0, 3.0)
    assert log.sites(now_s=1.0)[0].duration_s == 0.0  # a "now" before the onset: empty span
    log.needle_in("L levator scapulae", 6.0, point_id="C4", note="deep")  # closes the first
    closed = log.needle_out(9.5)
    assert closed.duration_s == pytest.approx(3.5) and closed.note == "deep"
    spans = log.sites()
    assert [(s.label, s.onset_s, s.duration_s) for s in spans] == [
        ("R upper trapezius TrP1", 2.0, 4.0),
        ("L levator scapulae", 6.0, 3.5),
    ]
    assert spans[0].muscle == "upper trapezius" and spans[0].side == "R"
    assert spans[1].point_id == "C4"
    assert log.active is None and log.sites(20.0) == spans


def test_needle_out_with_no_needle_in_raises() -> None:
    log = SiteLog()
    with pytest.raises(ConfigError, match="no needle in; press Needle in first"):
        log.needle_out(1.0)
    log.needle_in("a", 1.0)
    log.needle_out(2.0)
    with pytest.raises(ConfigError, match="no needle in"):
        log.needle_out(3.0)  # twice: the second press has nothing to close
    assert len(log.sites()) == 1


def test_times_never_go_back() -> None:
    log = SiteLog()
    log.needle_in("a", 5.0)
    with pytest.raises(
        ConfigError, match=r"needle out at 4\.000 s is before needle in at 5\.000 s"
    ):
        log.needle_out(4.0)
    with pytest.raises(ConfigError, match="before needle in"):
        log.needle_in("b", 3.0)  # would close "a" before it opened
    with pytest.raises(ConfigError, match="before needle in"):
        log.needle_out(float("nan"))
    assert log.active == "a" and log.sites() == ()  # a refused press changes nothing
    assert log.needle_out(5.0).duration_s == 0.0  # out at the same time: an empty span


@pytest.mark.parametrize("t", [-0.1, float("inf"), float("nan")])
def test_bad_times_and_labels_are_refused(t: float) -> None:
    log = SiteLog()
    with pytest.raises(ConfigError, match="needle site"):
        log.needle_in("a", t)
    with pytest.raises(ConfigError, match="needs a label; pick or type one"):
        log.needle_in("   ", 1.0)
    assert log.active is None


def test_add_keeps_spans_sorted_and_clear_forgets_them() -> None:
    early = NeedleSite("early", onset_s=1.0, duration_s=1.0)
    log = SiteLog([NeedleSite("late", onset_s=10.0, duration_s=1.0)])
    log.needle_in("open", 20.0)
    log.add(early)
    assert [s.label for s in log.sites()] == ["early", "late"]
    assert log.active == "open"  # adding a closed span leaves the open one alone
    with pytest.raises(ConfigError, match="takes NeedleSite spans"):
        log.add(("x", 1.0, 2.0))  # type: ignore[arg-type]
    assert "2 closed spans, needle in at 'open'" in repr(log)
    log.clear()
    assert log.sites(30.0) == () and log.active is None


def test_the_needle_site_prefix_is_not_doubled() -> None:
    log = SiteLog()
    log.needle_in("needle:R QL TrP2", 0.0)
    assert log.needle_out(1.0).description == "needle:R QL TrP2"


def test_concurrent_presses_keep_one_open_span() -> None:
    log = SiteLog()
    errors: list[Exception] = []

    def press(k: int) -> None:
        for i in range(200):
            try:
                log.needle_in(f"site {k}", float(i))
            except ConfigError as exc:  # another thread went further ahead in time
                errors.append(exc)

    threads = [threading.Thread(target=press, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert log.active is not None
    spans = log.sites()
    assert len(spans) == 4 * 200 - len(errors) - 1  # every accepted press but the open one
    assert all(s.duration_s >= 0 for s in spans)
    assert list(spans) == sorted(spans, key=lambda s: s.onset_s)
