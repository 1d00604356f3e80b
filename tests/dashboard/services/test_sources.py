"""Sources without Streamlit: replay clock, needle-site log, uploads, the live owner."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from twitchscope.dashboard.services.sources import (
    MAX_UPLOAD_MB,
    AcquisitionOwner,
    LiveSource,
    LiveSpec,
    Recording,
    ReplaySource,
    SiteLog,
    check_upload,
    load_recording,
)
from twitchscope.signal.core.errors import ConfigError, DeviceError, FileFormatError
from twitchscope.signal.core.model import NeedleSite, RecordingEvents

pytestmark = pytest.mark.usefixtures("clean_dashboard")

SFREQ = 487.0


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _recording(seconds: float = 20.0) -> Recording:
    data = np.random.default_rng(0).standard_normal((3, int(seconds * SFREQ))) * 1e-5
    site = NeedleSite("L gluteus medius TrP1", onset_s=2.0, duration_s=5.0)
    return Recording("x.fif", data, SFREQ, ("a", "b", "c"), RecordingEvents(sites=(site,)))


def test_replay_follows_the_clock_and_speed() -> None:
    clock = FakeClock()
    rec = _recording()
    player = ReplaySource(rec, clock=clock)
    assert player.read_since(0) == ([], 0) and not player.playing
    player.play()
    clock.t += 1.0
    blocks, cursor = player.read_since(0)
    assert cursor == int(SFREQ) and blocks[0].first_sample == 0
    np.testing.assert_array_equal(blocks[0].data, rec.data[:, : int(SFREQ)])
    player.set_speed(4.0)
    clock.t += 0.5  # 2 s of recording at 4x
    blocks, cursor2 = player.read_since(cursor)
    assert blocks[0].first_sample == cursor and cursor2 == int(3 * SFREQ)
    player.pause()
    clock.t += 10.0
    assert player.read_since(cursor2) == ([], cursor2)
    assert player.now_s() == pytest.approx(3.0)
    # seek moves the position and tells readers to restart
    g = player.generation
    player.seek(15.0)
    assert player.generation == g + 1 and player.now_s() == pytest.approx(15.0)
    player.play()
    clock.t += 100.0  # far past the end: reads are capped, the position stops at the end
    blocks, cursor3 = player.read_since(int(15 * SFREQ))
    assert cursor3 == rec.n_samples and player.at_end and not player.playing
    assert player.sites.sites()[0].label == "L gluteus medius TrP1"


def test_replay_caps_one_read_and_rejects_odd_speeds() -> None:
    clock = FakeClock()
    player = ReplaySource(_recording(), clock=clock, speed=8.0)
    player.play()
    clock.t += 2.0  # 16 s of recording due
    _, cursor = player.read_since(0)
    assert cursor == int(8.0 * SFREQ)  # at most 8 s per read
    with pytest.raises(ConfigError, match="replay speed must be one of"):
        player.set_speed(3.0)
    with pytest.raises(ConfigError, match="finite"):
        player.seek(float("nan"))


def test_site_log_spans() -> None:
    log = SiteLog()
    assert log.active is None and log.needle_out(1.0) is None
    log.needle_in("R upper trapezius TrP1", 2.0, muscle="upper trapezius", side="R")
    assert log.active == "R upper trapezius TrP1"
    assert log.sites() == ()  # open span left out without a "now"
    (open_,) = log.sites(now_s=5.0)
    assert (open_.onset_s, open_.duration_s) == (2.0, 3.0)
    log.needle_in("L levator scapulae", 6.0)  # closes the first at 6 s
    closed = log.needle_out(9.5)
    assert closed is not None and closed.duration_s == pytest.approx(3.5)
    spans = log.sites()
    assert [(s.label, s.onset_s, s.duration_s) for s in spans] == [
        ("R upper trapezius TrP1", 2.0, 4.0),
        ("L levator scapulae", 6.0, 3.5),
    ]
    assert spans[0].muscle == "upper trapezius" and spans[0].side == "R"
    with pytest.raises(ConfigError, match="needs a label"):
        log.needle_in("   ", 10.0)


def test_upload_checks() -> None:
    assert check_upload("session.EDF", 1000) == "edf"
    with pytest.raises(FileFormatError, match="unsupported file type; expected one of .edf"):
        check_upload("notes.docx", 10)
    with pytest.raises(FileFormatError, match=f"limited to {MAX_UPLOAD_MB} MB"):
        check_upload("big.fif", (MAX_UPLOAD_MB + 1) * 1024 * 1024)
    with pytest.raises(FileFormatError, match="empty"):
        check_upload("empty.csv", 0)


def test_load_recording_reads_emg_and_sites(limb_file) -> None:
    rec = load_recording(limb_file)
    assert rec.sfreq == 1000.0 and rec.n_samples == 80_000
    assert rec.ch_names == ("R-MG-prox", "R-MG-TrP", "R-MG-dist", "R-LG")
    assert [s.onset_s for s in rec.events.sites] == [6.0, 44.0]
    assert not rec.data.flags.writeable
    with pytest.raises(FileFormatError):
        load_recording(limb_file.with_name("missing.fif"))


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("twitchscope-")}


def test_owner_starts_one_live_source_and_stops_it() -> None:
    owner = AcquisitionOwner()
    spec = LiveSpec(protocol="chords", label_sim_sites=True)
    src = owner.start(spec)
    try:
        assert src.running and owner.source is src
        assert owner.start(spec) is src  # the same spec: the running source is reused
        assert any(n.startswith("twitchscope-emulator") for n in _threads())
        assert any(n.startswith("twitchscope-reader") for n in _threads())
        assert src._reader.buffer.wait_for(int(src.sfreq), timeout=5.0)
        a, ca = src.read_since(0)
        b, cb = src.read_since(0)  # two readers, two cursors: nothing is consumed
        assert ca == cb >= int(src.sfreq) and sum(x.n_samples for x in a) == ca
        assert a[0].ch_names == src.ch_names
    finally:
        owner.stop()
    assert owner.source is None and _threads() == set()


def test_owner_reports_a_missing_port_in_one_line() -> None:
    owner = AcquisitionOwner()
    with pytest.raises(DeviceError) as err:
        owner.start(LiveSpec(port="/dev/ttyDOESNOTEXIST9", protocol="cyton"))
    assert "\n" not in str(err.value) and "ttyDOESNOTEXIST9" in str(err.value)
    assert owner.last_error == str(err.value) and owner.source is None
    assert _threads() == set()


@pytest.mark.parametrize("protocol", ["openeeg", "spiker"])
def test_simulated_free_running_board_labels_sites_where_the_simulation_has_them(
    protocol: str,
) -> None:
    # A free-running board streams before the reader opens the port, which drops what
    # came first: the auto-labelled needle site must still fall on the simulated one.
    from twitchscope.acquisition.emulation.devices import make_personality
    from twitchscope.signal import simulate

    spec = LiveSpec(protocol=protocol, label_sim_sites=True)
    src = LiveSource(spec).start()
    try:
        deadline = time.monotonic() + 30
        while not src.sites.sites(src.now_s()) and time.monotonic() < deadline:
            src.read_since(0)
            time.sleep(0.1)
        time.sleep(0.6)
        blocks, _ = src.read_since(0)
        labelled = src.sites.sites(src.now_s())
    finally:
        src.stop()
    assert labelled, "no needle site was labelled"
    personality = make_personality(protocol)
    cfg = simulate.preset(spec.scenario, sfreq=personality.sfreq, n_channels=personality.n_channels)
    first_site = cfg.sites[0]
    assert labelled[0].label == first_site.label
    sf = src.sfreq
    n_sim = int((first_site.onset_s + 1.0) * sf)
    sim, _ = simulate.sim_step(cfg, n_sim, simulate.init_sim_state(cfg, seed=spec.seed))
    received = np.concatenate([b.data for b in blocks], axis=1)
    n = int(0.5 * sf)
    j = int(round(labelled[0].onset_s * sf))  # stream sample of the label
    k = int(round(first_site.onset_s * sf))  # simulation sample of the site
    assert received.shape[1] >= j + n
    # the received samples from the label on are the simulation's from the site on: they
    # correlate (up to the protocol's quantisation) there and at no nearby shift
    for ch in range(received.shape[0]):
        corr = {
            lag: np.corrcoef(received[ch, j : j + n], sim.data[ch, k + lag : k + lag + n])[0, 1]
            for lag in range(-8, 9)
        }
        assert max(corr, key=corr.__getitem__) == 0 and corr[0] > 0.9, (ch, corr)
