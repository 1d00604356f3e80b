"""The live source on the simulated amplifier: reading changes nothing, sites fall right."""

from __future__ import annotations

import time

import numpy as np
import pytest

from twitchscope.dashboard.services.live import LiveSource, LiveSpec

pytestmark = pytest.mark.usefixtures("clean_dashboard")


@pytest.mark.parametrize("protocol", ["openeeg", "spiker"])
def test_simulated_free_running_board_labels_sites_where_the_simulation_has_them(
    protocol: str,
) -> None:
    # A free-running board streams before the reader opens the port, which drops what
    # came first: the auto-labelled needle site must still fall on the simulated one.
    from twitchscope.acquisition.boards.registry import make_personality
    from twitchscope.signal import simulate

    spec = LiveSpec(protocol=protocol, label_sim_sites=True)
    src = LiveSource(spec).start()
    try:
        deadline = time.monotonic() + 30
        while not src.sites.sites(src.now_s()) and time.monotonic() < deadline:
            time.sleep(0.1)  # the sites are labelled as the samples arrive, read or not
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
