"""Settings page: detector preset, its key thresholds, and the mains frequency."""

from __future__ import annotations

import streamlit as st

from twitchscope.dashboard.app.state import K, Settings, profile_settings
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.units import ms_to_s, s_to_ms
from twitchscope.signal.detect.config import PRESETS
from twitchscope.signal.review.profile import read_profile

ss = st.session_state
st.title("Settings")
st.caption(
    "Detector settings of this browser session. Applying them restarts live and replay "
    "detection from the current moment and re-runs review detection."
)

current: Settings = ss[K.SETTINGS]
profile_path = profile_settings().profile  # the dashboard's --profile, if any
base = read_profile(current.profile).config() if current.profile else PRESETS[current.preset]
with st.form("settings_form"):
    use_profile = False
    if profile_path:
        use_profile = st.checkbox(
            f"Use the detector profile {read_profile(profile_path).label()}",
            value=current.profile is not None,
            help="From twitchscope dashboard --profile (twitchscope calibrate). Its preset "
            "and values are the base; the thresholds below apply on top of it.",
            key="settings_use_profile",
        )
    preset_name = st.radio(
        "Preset",
        list(PRESETS),
        index=list(PRESETS).index(current.preset),
        horizontal=True,
        help="limb: 20 Hz high-pass. trunk: 30 Hz 4th-order high-pass for ECG-prone "
        "muscles (upper trapezius, paraspinals).",
        key="settings_preset",
    )
    mains = st.radio(
        "Mains",
        ["auto", "50", "60"],
        index=["auto", "50", "60"].index(current.mains),
        horizontal=True,
        help="auto estimates 50 vs 60 Hz from the first seconds of each stream.",
        key="settings_mains",
    )
    c = st.columns(4)
    k_on = c[0].number_input(
        "On threshold (× baseline)",
        1.0,
        20.0,
        float(current.k_on if current.k_on is not None else base.k_on),
        0.1,
        key="settings_k_on",
    )
    k_off = c[1].number_input(
        "Off threshold (× baseline)",
        1.0,
        20.0,
        float(current.k_off if current.k_off is not None else base.k_off),
        0.1,
        key="settings_k_off",
    )
    min_ms = c[2].number_input(
        "Min duration (ms)",
        1.0,
        2000.0,
        s_to_ms(float(current.min_duration_s or base.min_duration_s)),
        1.0,
        key="settings_min_ms",
    )
    max_ms = c[3].number_input(
        "Max duration (ms)",
        10.0,
        5000.0,
        s_to_ms(float(current.max_duration_s or base.max_duration_s)),
        10.0,
        key="settings_max_ms",
    )
    applied = st.form_submit_button("Apply", type="primary")

if applied:
    new = Settings(
        preset=read_profile(profile_path).preset if use_profile and profile_path else preset_name,
        profile=profile_path if use_profile else None,
        mains=mains,
        k_on=float(k_on),
        k_off=float(k_off),
        min_duration_s=ms_to_s(float(min_ms)),
        max_duration_s=ms_to_s(float(max_ms)),
    )
    try:
        new.config()  # validate
    except TwitchscopeError as exc:
        st.error(str(exc), icon=":material/warning:")
    else:
        ss[K.SETTINGS] = new
        ss[K.SETTINGS_VERSION] += 1
        st.success("Applied.")

cfg = ss[K.SETTINGS].config()
st.subheader("In use")
st.json(
    {
        "preset": ss[K.SETTINGS].preset,
        "profile": ss[K.SETTINGS].profile,
        "band_hz": [cfg.hp_hz, f"min({cfg.lp_hz:g}, {cfg.lp_max_fraction:g}·sfreq)"],
        "mains": cfg.mains,
        "k_on": cfg.k_on,
        "k_off": cfg.k_off,
        "min_duration_ms": round(s_to_ms(cfg.min_duration_s), 1),
        "max_duration_ms": round(s_to_ms(cfg.max_duration_s), 1),
        "envelope": cfg.envelope_method,
    },
    expanded=False,
)
