"""Configuration of the twitch detector: one frozen :class:`DetectorConfig` and its presets.

Every default is traceable either to the literature brief
(``shared/research/ltr_literature.md``, cited as *lit §n*) or to a measured reason
(*measured*: a figure from ``bench/run_detector_bench.py`` on the development corpus,
or an engineering choice explained next to it).

Presets
-------
``limb``
    Limb muscles (gastrocnemius, forearm): 20 Hz 2nd-order high-pass (De Luca 2010, lit §0).
``trunk``
    ECG-prone trunk and shoulder muscles (upper trapezius, paraspinals, quadratus
    lumborum): 30 Hz 4th-order high-pass (Drake & Callaghan 2006, lit §0) plus the
    R-peak veto, which both presets keep on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from twitchscope.signal.core.checks import check_option, check_positive
from twitchscope.signal.core.errors import ConfigError

__all__ = ["DetectorConfig", "PRESETS", "preset", "MAINS_OPTIONS", "ENVELOPE_METHODS"]

#: Accepted values of :attr:`DetectorConfig.mains`.
MAINS_OPTIONS: tuple[str, ...] = ("50", "60", "auto")
#: Accepted values of :attr:`DetectorConfig.envelope_method`.
ENVELOPE_METHODS: tuple[str, ...] = ("rms", "tkeo", "auto")


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every parameter of the twitch detector (seconds, hertz, volts; ratios are plain numbers).

    Parameters
    ----------
    hp_hz : float
        High-pass corner of the band-pass, Hz. 20 Hz (lit §0, De Luca 2010; SENIAM 10-20 Hz).
    hp_order : int
        Butterworth order of the high-pass. 2 (lit §0: "HP 2nd-order Butterworth at 20 Hz").
    lp_hz : float
        Low-pass corner, Hz, clipped to ``lp_max_fraction * sfreq`` (lit §0: 450 Hz, clip 0.45 fs).
    lp_max_fraction : float
        Largest low-pass corner as a fraction of sfreq. 0.45 (lit §0).
    lp_order : int
        Butterworth order of the low-pass. 4 (engineering choice: 24 dB/oct above the band).
    mains : str
        ``"50"``, ``"60"`` or ``"auto"`` (estimate from the first ``mains_probe_s``).
    notch_q : float
        Quality factor of each mains notch. 30: -3 dB width f/Q (1.7 Hz at 50 Hz), so the
        notches remove < 2 % of the sEMG band (lit §0 spectrum model).
    n_harmonics : int
        Mains harmonics considered (fundamental included); those above Nyquist are notched
        where they alias, those below Nyquist only when inside the pass band. 10, which
        covers the pass band up to 450 Hz at 50 Hz mains (lit §7 lists 2nd-5th harmonics;
        measured: the 7th and 8th harmonics carried 16 % of the residual power at 2 kHz).
    mains_track : bool
        Follow the mains fundamental as it drifts and remove what the fixed notches leave
        of it (:func:`~twitchscope.signal.detect.mains.track_block`). False by default,
        measured (bench/RESULTS.md): on corpus-dev-b, whose mains drifts and whose residual
        hum of up to 16 uV after the notches hid the twitches of whole needle sites, recall
        0.477 -> 0.546 (SNR 10-20: 0.75 -> 0.90) and F1 0.603 -> 0.643, but 1.14 false
        twitches a minute (0.79); corpus-dev F1 0.798 -> 0.793; on the real files the
        cleaner background lowers the false-alarm threshold: one 36 ms spike on the GUI
        sample's rest (none without) and 5 twitches on the subvocal recording's rest (3).
        True runs it at every rate; it runs anyway below ``mains_track_below_sfreq``.
    mains_track_below_sfreq : float
        The tracker runs for every recording sampled below this rate, Hz (1: only where
        ``mains_track`` says). 1000, measured (bench/RESULTS.md, 3 December 2026): at
        250-500 Hz the hum the notches leave falls inside the narrow pass band and hid
        strong twitches (corpus-dev-b recall at SNR >= 10 0.80 -> 0.92 with the peak
        floor below; corpus-dev unchanged); at 1-2 kHz it added false twitches (corpus-dev
        2 kHz 0.3 -> 1.2 a minute, corpus-dev-b 1 kHz 0.2 -> 0.6), so it stays off there.
    mains_track_lp_hz : float
        Low-pass of the tracked line's complex amplitude, Hz: its removal is a notch about
        twice this wide that follows the line, and how fast a surge is followed. 0.3.
    mains_track_max_dev_hz : float
        Farthest the tracked frequency moves from nominal, Hz. 1.0 (grid frequency stays
        within 0.5 Hz; portable generators and some inverters drift further).
    mains_track_min_ratio : float
        The frequency is updated from the channels whose line carries at least this many
        times the power of its neighbourhood (5 Hz either side), averaged over about 2 s. 10.
    mains_probe_s : float
        Seconds of signal used to estimate 50 vs 60 Hz when ``mains="auto"``. 2 s gives a
        0.5 Hz resolution and lies within the quiet rest before the first insertion (lit §0: 2-5 s).
    envelope_method : str
        ``"rms"`` (squared signal, smoothed), ``"tkeo"`` (Teager-Kaiser energy, rectified and
        smoothed) or ``"auto"`` (TKEO at or above ``tkeo_min_sfreq``, RMS below: the rule of
        lit §0/§3.3). Default ``"rms"``, a measured reason: on the development corpus at
        1-2 kHz the envelope peak of SNR 5-10 twitches stood a median 10 robust SDs above the
        quiet envelope with RMS (20 Hz smoothing) against 5 with TKEO (50 Hz smoothing), so
        TKEO missed weak twitches; onset precision, TKEO's strength (Solnik 2010), comes from
        the onset refinement instead.
    tkeo_lp_hz : float
        Smoothing corner for the rectified TKEO, Hz. 50 Hz (lit §0: TKEO -> rectify -> LP 50 Hz).
    rms_lp_hz : float
        Smoothing corner of the 2nd-order low-pass on the squared signal, Hz. 20 Hz, about a
        22 ms moving RMS (lit §0: 20-50 ms windows). Measured: 20 Hz separated SNR 3-10
        twitches from rest better than 10 Hz or 5 Hz.
    tkeo_min_sfreq : float
        With ``envelope_method="auto"``, TKEO at or above this rate. 1000 Hz (lit §3.3 item 5).
    low_rate_sfreq : float
        Below this rate the detector runs in detection-only mode with a higher k (lit §3.3:
        "when fs < ~500 Hz"). 500 Hz.
    k_on, k_off : float
        Hysteresis thresholds in robust SDs (1.4826 MAD) of the quiet envelope above its median.
        k_off = 2 (lit §0). k_on = 4.5, *tuned on the development corpus*: the literature's 3
        (Hodges & Bui's grid) let noise excursions grow candidates that swallowed twitches;
        4.5 raised F1 from 0.59 to 0.71 and recall at SNR >= 10 from 0.85 to 0.93.
    k_on_low_rate : float
        ``k_on`` below ``low_rate_sfreq``: lit §3.3 item 4 asks for a higher k where fewer
        independent samples make the variance estimate noisy. 4.5 (no higher than ``k_on``
        after the corpus tuning above).
    low_rate_min_peak_ratio : float
        Below ``low_rate_sfreq`` a twitch's largest conditioned sample must reach this many
        times its channel's background envelope (the envelope median before it), else it
        is rejected (``low_confidence``); inside an artefact, such a twitch is not kept.
        5.3, measured with the mains tracker on below 1 kHz (bench/RESULTS.md): swept 4-7
        on corpus-dev, corpus-dev-b and the real files; at 5.3 it drops 6 false twitches
        of corpus-dev-b at 250-256 Hz, the GUI sample's one false twitch at rest (a 36 ms
        spike) and one real twitch of corpus-dev at SNR 4; 5.5 and above drop more real
        twitches (no held-out set chose it: expect some optimism).
    baseline_segment_s : float
        Length of a baseline segment, s (see ``baseline_max_active``). 0.25 s.
    baseline_max_active : float
        A segment enters the baseline only if at most this fraction of its samples was
        active. 0.25: short twitches (20-300 ms, lit §0) are tolerated by the robust
        statistics, sustained activity is kept out.
    baseline_n_segments : int
        Segments kept (the baseline memory). 40 (10 s): adapts within a needling bout.
    baseline_stale_s : float
        When no segment has been quiet for this long, noisy segments are admitted too so that
        a lasting rise of the noise floor is learnt instead of flagging for ever. 8 s.
    settle_s : float
        The first seconds never enter the baseline: the notches need about 4 Q / (pi f0)
        = 0.76 s (Q 30, 50 Hz) to settle on the mains sinusoid. 1 s.
    warmup_s : float
        No detection in the first seconds, while the baseline is first learnt. 2 s (lit §0:
        2-5 s quiet rest before the first insertion).
    min_duration_s : float
        Shortest candidate kept, s. 20 ms (lit §0: >= 2 surface MUAP durations).
    merge_gap_s : float
        Fragments closer than this are one candidate. 60 ms: lit §0 proposes 30 ms [E], but a
        twitch is a train of motor-unit discharges at 20-50 Hz (lit §7), so its envelope can
        dip for up to 50 ms between discharges; measured: with 30 ms the corpus' twitches
        were often reported twice (precision 0.91), with 60 ms once (0.98).
    max_duration_s : float
        Longest twitch, s; longer candidates are ``sustained``. 0.5 s (lit §0 accept window
        20-500 ms).
    sustained_max_s : float
        A candidate still open after this long is closed as ``sustained`` (bounds latency and
        memory). 1.0 s (lit §2: sustained > 1 s).
    max_rise_s : float
        Onset-to-peak rise longer than this marks a slow ramp (``sustained``). 0.2 s (lit §2).
    lf_ratio_max : float
        Low-frequency veto: excess power 1-20 Hz over excess power in the EMG band above which
        a candidate is ``low_freq_artifact`` (or ``pop`` when also abrupt). 0.3: stricter than
        lit §2's P(1-20)/P(20-250) > 1 because the ratio here uses *excess* powers (over the
        baseline), which sEMG bursts keep near 0 (measured: corpus twitches at most 0.31,
        90 % below 0.1), while electrode pops at >= 500 Hz, being broadband, reached only
        0.5-1.5.
    pop_crest_min : float
        Peak / RMS of the conditioned burst at or above which a candidate is a ``pop`` (a
        spike). 6 (noise-like EMG bursts have crest factors of 2-5; measured on the corpus'
        twitches: at most 4.9).
    pop_step_ratio : float
        A low-frequency dominated candidate whose 1-20 Hz band changes by at least this
        fraction of its excursion within 2 ms (one sample below 500 Hz) is a step
        (``pop``). 0.2: needle handling and motion up to 15 Hz (lit §7: 1-15 Hz) change by
        at most 2 pi f 2 ms = 0.19; measured on the development corpus, the pops this rule
        decides gave 0.23-0.43, while a twitch inside motion (SNR 37) gave 0.19 and was
        lost as a pop with the former 0.15, as were twitches inside 10-15 Hz needle
        handling on the bundled samples (0.15-0.19).
    ecg_lf_min : float
        A short candidate is QRS-like when its 1-20 Hz excess is at least this fraction of
        its EMG-band excess (the QRS has most energy below 30-40 Hz, lit §2; sEMG little
        below 20 Hz). 0.2 (measured: corpus twitches had a 90th percentile of 0.04).
    glr_min : float
        Minimum generalised likelihood ratio of the variance rise over the candidate
        (``0.5 n (r - 1 - ln r)``, n = 2 x bandwidth x duration independent samples, r =
        burst power / baseline power), an AGLR-type test (Staude 2001, lit §4). Candidates
        below it are noise excursions and are dropped without a reason code. 20, *tuned on the
        development corpus* (median 165 for its twitches, 7 for noise crossings; 15-30 all
        gave F1 0.69-0.71 with k_on 4.5).
    false_alarms_per_min : float
        Target rate of false detections on this recording's background, per minute (all
        channels together). The likelihood-ratio threshold is raised above ``glr_min`` to
        the level that the recording's own quiet background reaches this often, from an
        extreme-value (Gumbel) fit of its segment maxima (see
        :mod:`twitchscope.signal.detect.false_alarms`). 0.5, the issue's default; a large
        value leaves ``glr_min`` alone.
    far_memory_s : float
        Seconds of quiet background whose segment maxima the fit uses. 60 s: enough
        segments (240) for the tail, recent enough to follow a change of the background.
    far_min_segments : int
        Segments needed before the fit applies (``glr_min`` alone before). 4 (1 s, so the
        fit applies from the end of the warm-up; measured: with 20 a background of sporadic
        motor-unit potentials gave 3 false twitches in the 5 s before the fit; the corpus
        scores were the same within 0.005).
    min_confidence : float
        Kept bursts whose confidence (:func:`~twitchscope.signal.detect.classify.twitch_confidence`)
        is below this are rejected as ``low_confidence``; 0 keeps all. 0.2, *tuned on all
        three development sets*: it removed 18 of the 34 detections on the real files'
        rest and activity, 1 true twitch of 86 on corpus-dev and 3 of 82 on corpus-dev-b.
    pre_level_max : float
        A burst rising from ongoing activity is not a transient: when the lowest of five
        50 ms medians of the envelope 300-50 ms before its onset exceeds this multiple of
        the baseline median, it is ``sustained`` (tonic or voluntary activity; a QRS or
        a twitch just before raises only some of the five). 1.5, *measured on all sets*:
        corpus-dev unchanged, corpus-dev-b 0.86 -> 0.79 false detections a minute with F1
        unchanged, and on the real files 3 fewer detections inside voluntary activity
        (1.3: 0.65 a minute but one more true twitch lost; 1.8: no effect on false ones).
    pre_level_glr_max : float
        ... unless its likelihood ratio reaches this: a strong twitch right after needle
        handling or after another twitch rises from their tail, not from ongoing activity.
        2000 (100 ``glr_min``), *measured on all sets*: corpus-dev-b F1 0.603 -> 0.607
        (two twitches of SNR 26 and 48 won back, no more false ones), corpus-dev and the
        real files unchanged (1000: one more false twitch on corpus-dev-b).
    ecg_max_duration_s : float
        The R-peak veto applies to candidates shorter than this. 0.25 s: lit §2 gives
        0.15 s for the QRS itself, but the candidate also holds the envelope's decay
        (measured: the QRS candidates of corpus-dev-b at 500 Hz lasted 164-232 ms, so with
        0.15 s no train formed and they were rejected as ``low_freq_artifact`` or
        ``mains``; F1 on corpus-dev-b 0.570 -> 0.584, corpus-dev unchanged).
        A longer candidate is ``ecg`` too when its low band dominates, it is not
        spike-like, and it holds the beat the regular train expects (at most three RR
        ahead): a QRS inside a longer burst. Its EMG above ``inner_hp_hz`` is then
        searched for a twitch, as for the other artefacts.
    ecg_onset_tolerance_s, ecg_qrs_s : float
        A burst kept as a twitch whose onset falls within ``ecg_onset_tolerance_s`` of a
        beat the regular train expects began with that QRS: its onset is searched again
        ``ecg_qrs_s`` after the beat, and the QRS is reported as ``ecg``. 0.04 s (the
        scorer's onset tolerance) and 0.1 s (the QRS complex, lit §2: 80-120 ms).
        Measured on corpus-dev-b: twitches 30-130 ms after a QRS merged with it and were
        reported at the QRS (7 of them with SNR >= 10).
    ecg_rr_tolerance : float
        Relative RR tolerance for a beat to continue a train. 0.15.
    ecg_min_beats : int
        Consecutive regular beats before the veto acts. 3.
    ecg_train_jitter_s, ecg_train_glr_ratio : float
        The QRS train without a low band: the background's own 1-20 Hz level can absorb a
        QRS's (measured: ratio 0.00 for the QRS candidates of corpus-dev-b at 256 Hz, kept
        as twitches 0.711 s apart). A candidate shorter than ``max_duration_s``, not
        spike-like and without a QRS-like low band is ``ecg`` when ``ecg_min_beats`` recent
        short candidates precede it in a chain at one RR interval (0.5-1.5 s; two for a
        missed beat), each step within ``ecg_train_jitter_s`` (twice that for a missed
        beat), no candidate within ``ecg_train_glr_ratio`` of the chain's strongest lies
        between its last beat and it (a twitch half-way in a faster train), and its
        likelihood ratio is at most ``ecg_train_glr_ratio`` times the chain's strongest
        (a stronger one is a twitch on a beat). 0.045 s and 3, *measured on all three
        sets*: corpus-dev-b F1 0.683 -> 0.694, 0.79 -> 0.58 false detections a minute
        (256 Hz 1.6 -> 0.9, 250 Hz 1.3 -> 0.9), recall unchanged; corpus-dev and the real
        files unchanged. 0.03 s: 0.65 a minute; 0.06 s: a twitch of corpus-dev-b lost; a
        ratio of 2 the same, 5 lost a twitch of corpus-dev.
    mains_line_ratio_min : float
        A candidate is ``mains`` when, over the last ``mains_window_s`` before it closes, a
        mains line of the conditioned signal carries at least this many times the power of
        its 4-15 Hz neighbourhood (per bin). 20, measured on the development corpus: surge
        transients gave 55-2000, twitches mostly below 14 (one at 23, under a 64 uV hum);
        the residual hum of a quiet background at 250/256 Hz alone reached 10-60, so this
        rule can cost weak twitches on low-rate boards with strong hum.
    mains_share_min : float
        ... and when the power the mains lines carry above their neighbourhood in that
        window is at least this fraction of the excess power (over the noise floor) of the
        candidate's part inside the window: a surge ringing out of the notches makes up its
        own candidate, whereas EMG riding on a steady residual hum is not explained by the
        hum. 0.1. First 0.05, measured on ``corpus-dev``: surge candidates gave 0.06-1.0
        (median 0.4; 0.43 for the synthetic switched surge of the tests), accepted twitches
        a median of 0.003; the two twitches with a line ratio above 20 (SNR 10 and 4.5
        under residual hum) gave 0.007 and 0.044, and the SNR 10 one was lost as ``mains``
        without this condition. Then 0.1, on both development corpora: a 29 ms twitch
        (SNR 10) half a second after a surge, its line 26x above the neighbourhood from
        the surge's residue but carrying 8% of its power, was kept, and nothing else
        changed on either corpus, the real files or the bundled samples; 0.12 added a
        false twitch on ``corpus-dev-b`` (2 kHz).
    mains_dominant_share : float
        A candidate is also ``mains`` when the mains lines carry at least this fraction of
        its excess power and stand at least ``mains_dominant_ratio_min`` times above their
        neighbourhood: a burst that is mostly mains residue is a surge even when a short or
        amplitude-modulated surge broadens the line. 0.3 with ratio 8: on the development
        corpus no accepted twitch exceeded a share of 0.15 (the ones under residual hum
        gave 0.06-0.15 at ratios 8-16) and every surge gave 0.27-1.0 at ratios >= 64; on
        the bundled ``not_a_twitch`` sample, two short surges (ratios 11-12, shares
        0.38-0.46) passed the first rule.
    mains_dominant_ratio_min : float
        The line ratio that goes with ``mains_dominant_share``. 8 (see above).
    mains_fit_min : float
        A candidate is also ``mains`` when one sinusoid at a mains line explains at least
        this share of the energy of the conditioned signal over the last
        ``mains_fit_window_s`` (from the onset at the latest) and the line stands at least
        ``mains_dominant_ratio_min`` above its neighbourhood: a notch ringing out the start
        or end of a hum surge is one decaying sinusoid, too short to stand far out of a
        0.5 s spectrum. 0.4, measured on the development corpus and the bundled samples:
        no accepted twitch exceeded 0.25 (99th percentile 0.15; EMG spreads its energy
        over the band), the surge candidates rejected by the other rules gave a median
        0.57, and the two onsets of small (12-13 uV) surges that the other rules let
        through in the ``not_a_twitch`` sample gave 0.58.
    mains_fit_window_s : float
        Window of that fit, s. 0.2 (10 cycles of 50 Hz; one line then explains about
        2 / (0.2 sfreq) of a broadband burst, 4 % at 250 Hz).
    mains_window_s : float
        Window for that spectrum, s. 0.5 (2 Hz resolution; the line and its flanks must be
        resolved even at 250 Hz, where aliased lines fall 10 Hz apart).
    inner_hp_hz : float
        A candidate rejected as ``low_freq_artifact`` or ``mains`` is searched for the EMG
        burst of a twitch above this frequency (see :mod:`twitchscope.signal.detect.inner_burst`):
        in IMS the needle movement that elicits a twitch also moves the electrodes. 60 Hz:
        above the 1-20 Hz of motion and needle handling (lit §2) and its leak through the
        high-pass corner, inside the 50-150 Hz of surface EMG (lit §0).
    inner_min_duration_s : float
        Shortest such burst, s. 0.08, measured: the electrode pops that overlapped motion
        on the development corpus left 34-72 ms of high-band power, the twitches inside
        needle handling on the bundled samples 86-270 ms. Shorter twitches inside an
        artefact are lost with it.
    inner_min_duration_ecg_s : float
        The same inside an ``ecg`` rejection, s. 0.07: a QRS leaves no high-band burst as
        long as an electrode pop's ringing. Measured on both development corpora:
        0.07 kept two twitches that followed a QRS on ``corpus-dev-b`` for one false twitch,
        and changed nothing on ``corpus-dev`` or the real files; 0.05-0.06 added a false
        twitch on ``corpus-dev`` (256 Hz).
    inner_glr_min : float
        Smallest likelihood ratio of that burst's power rise above ``inner_hp_hz``. 60,
        three times ``glr_min``: the search looks at every channel of a stretch already
        known to hold an artefact (measured: the twitches found gave 70-15 500; 50-70
        gave the same events on both development corpora and the real files, 40 and
        below a false twitch at rest on a real file, 80 lost three twitches after a QRS).
    inner_qrs_ratio : float
        Inside an ``ecg`` rejection the twitch's channel must also reach this many times
        the power above ``inner_hp_hz`` (largest 10 ms mean) that the last plain QRS
        complexes gave on it (the median of the last 5, once there are 3): a QRS on a
        trunk channel at 1-2 kHz has power in that band too, enough to pass for a burst
        against the background before it. 4 (twice the amplitude), measured on both
        development corpora: 3-10 gave the same events (one false twitch inside a QRS
        at 2 kHz on ``corpus-dev-b`` gone, no twitch lost), 20 lost four twitches.
    context_s : float
        Seconds of signal kept before a candidate for classification. 0.5 (at least
        ``mains_window_s``).
    onset_search_s : float
        Onset refinement searches this far before the threshold crossing. 0.05 s.
    mdf_min_duration_s : float
        Median frequency only for bursts at least this long. 0.1 s (shorter windows give
        spectral resolution coarser than 10 Hz; lit §5 prefers >= 250 ms: our value is an
        engineering compromise for LTRs, which are short).
    mdf_min_sfreq : float
        Median frequency only at or above this rate. 1000 Hz (lit §3.3, §5).
    channel_ratio : float
        A channel is listed in ``channels`` when its envelope peak in the burst reaches
        ``k_on`` on that channel. This factor scales that requirement. 1.
    """

    hp_hz: float = 20.0
    hp_order: int = 2
    lp_hz: float = 450.0
    lp_max_fraction: float = 0.45
    lp_order: int = 4
    mains: str = "auto"
    notch_q: float = 30.0
    n_harmonics: int = 10
    mains_probe_s: float = 2.0
    mains_track: bool = False
    mains_track_below_sfreq: float = 1000.0
    mains_track_lp_hz: float = 0.3
    mains_track_max_dev_hz: float = 1.0
    mains_track_min_ratio: float = 10.0
    envelope_method: str = "rms"
    tkeo_lp_hz: float = 50.0
    rms_lp_hz: float = 20.0
    tkeo_min_sfreq: float = 1000.0
    low_rate_sfreq: float = 500.0
    k_on: float = 4.5
    k_off: float = 2.0
    k_on_low_rate: float = 4.5
    low_rate_min_peak_ratio: float = 5.3
    baseline_segment_s: float = 0.25
    baseline_max_active: float = 0.25
    baseline_n_segments: int = 40
    baseline_stale_s: float = 8.0
    settle_s: float = 1.0
    warmup_s: float = 2.0
    min_duration_s: float = 0.02
    merge_gap_s: float = 0.06
    max_duration_s: float = 0.5
    sustained_max_s: float = 1.0
    max_rise_s: float = 0.2
    lf_ratio_max: float = 0.3
    pop_crest_min: float = 6.0
    pop_step_ratio: float = 0.2
    ecg_lf_min: float = 0.2
    glr_min: float = 20.0
    false_alarms_per_min: float = 0.5
    far_memory_s: float = 60.0
    far_min_segments: int = 4
    min_confidence: float = 0.2
    pre_level_max: float = 1.5
    pre_level_glr_max: float = 2000.0
    ecg_max_duration_s: float = 0.25
    ecg_rr_tolerance: float = 0.15
    ecg_onset_tolerance_s: float = 0.04
    ecg_qrs_s: float = 0.1
    ecg_min_beats: int = 3
    ecg_train_glr_ratio: float = 3.0
    ecg_train_jitter_s: float = 0.045
    mains_line_ratio_min: float = 20.0
    mains_share_min: float = 0.1
    mains_dominant_share: float = 0.3
    mains_dominant_ratio_min: float = 8.0
    mains_fit_min: float = 0.4
    mains_fit_window_s: float = 0.2
    mains_window_s: float = 0.5
    inner_hp_hz: float = 60.0
    inner_min_duration_s: float = 0.08
    inner_min_duration_ecg_s: float = 0.07
    inner_glr_min: float = 60.0
    inner_qrs_ratio: float = 4.0
    context_s: float = 0.5
    onset_search_s: float = 0.05
    mdf_min_duration_s: float = 0.1
    mdf_min_sfreq: float = 1000.0
    channel_ratio: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mains", str(self.mains).strip().lower())
        check_option("mains", self.mains, MAINS_OPTIONS)
        check_option("envelope_method", self.envelope_method, ENVELOPE_METHODS)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("mains", "envelope_method"):
                continue
            if f.name == "min_confidence":
                if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                    raise ConfigError(f"min_confidence must be within [0, 1), got {value!r}.")
                continue
            if f.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"{f.name} must be true or false, got {value!r}.")
                continue
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{f.name} must be an integer >= 1, got {value!r}.")
            else:
                object.__setattr__(self, f.name, check_positive(f.name, value))
        if self.settle_s >= self.warmup_s:
            raise ConfigError(
                f"settle_s ({self.settle_s:g}) must be below warmup_s ({self.warmup_s:g}): the "
                "baseline is learnt between the two."
            )
        if self.k_off > self.k_on:
            raise ConfigError(
                f"k_off ({self.k_off:g}) must not exceed k_on ({self.k_on:g}): hysteresis "
                "needs the off-threshold at or below the on-threshold."
            )
        if self.hp_hz >= self.lp_hz:
            raise ConfigError(f"hp_hz ({self.hp_hz:g}) must be below lp_hz ({self.lp_hz:g}).")
        if self.lp_max_fraction >= 0.5:
            raise ConfigError(
                f"lp_max_fraction must be below 0.5 (Nyquist), got {self.lp_max_fraction:g}."
            )
        if self.min_duration_s >= self.max_duration_s:
            raise ConfigError(
                f"min_duration_s ({self.min_duration_s:g}) must be below max_duration_s "
                f"({self.max_duration_s:g})."
            )
        if self.max_duration_s > self.sustained_max_s:
            raise ConfigError(
                f"max_duration_s ({self.max_duration_s:g}) must not exceed sustained_max_s "
                f"({self.sustained_max_s:g})."
            )

    def with_changes(self, **changes: Any) -> DetectorConfig:
        """Return a copy with some fields changed (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(f"unknown detector parameter(s) {unknown}; see DetectorConfig.")
        return replace(self, **changes)

    def envelope_for(self, sfreq: float) -> str:
        """The envelope actually used at ``sfreq``: ``"tkeo"`` or ``"rms"``."""
        if self.envelope_method == "auto":
            return "tkeo" if sfreq >= self.tkeo_min_sfreq else "rms"
        return self.envelope_method

    def k_on_for(self, sfreq: float) -> float:
        """The on-threshold k at ``sfreq`` (raised below ``low_rate_sfreq``)."""
        return self.k_on if sfreq >= self.low_rate_sfreq else max(self.k_on, self.k_on_low_rate)

    def mains_track_for(self, sfreq: float) -> bool:
        """Whether the mains tracker runs at ``sfreq``."""
        return self.mains_track or sfreq < self.mains_track_below_sfreq

    def envelope_lp_hz(self, sfreq: float) -> float:
        """The envelope's smoothing corner at ``sfreq``, Hz."""
        return self.tkeo_lp_hz if self.envelope_for(sfreq) == "tkeo" else self.rms_lp_hz

    def low_pass_hz(self, sfreq: float) -> float:
        """The low-pass corner actually used at ``sfreq``: min(lp_hz, lp_max_fraction * sfreq)."""
        return min(self.lp_hz, self.lp_max_fraction * sfreq)


#: The named presets (``--preset`` on the command line).
PRESETS: dict[str, DetectorConfig] = {
    "limb": DetectorConfig(),
    "trunk": DetectorConfig(hp_hz=30.0, hp_order=4),
}


def preset(name: str, **changes: Any) -> DetectorConfig:
    """Return the preset ``name`` (``"limb"`` or ``"trunk"``), optionally with changes."""
    check_option("preset", name, tuple(PRESETS))
    base = PRESETS[name]
    return base.with_changes(**changes) if changes else base
