"""The one live source of a server process: started once, reused, stopped."""

from __future__ import annotations

import threading

import pytest

from twitchscope.dashboard.services.acquisition_owner import AcquisitionOwner
from twitchscope.dashboard.services.live import LiveSpec
from twitchscope.signal.core.errors import DeviceError

pytestmark = pytest.mark.usefixtures("clean_dashboard")


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
