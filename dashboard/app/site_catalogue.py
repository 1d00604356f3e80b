"""A catalogue of common dry-needling (IMS) sites, to label needle spans quickly.

A label is ``"<side> <muscle> <point>"`` (e.g. ``"R upper trapezius TrP1"``,
``"L lumbar multifidus L4"``); any of the parts may be empty, and a typed label
is used as it is.
"""

from __future__ import annotations

__all__ = ["MUSCLES", "SIDES", "POINTS", "SEGMENTAL", "site_label", "points_for"]

#: Muscles commonly needled, head to foot. Segmental ones take a spinal level as point.
MUSCLES: tuple[str, ...] = (
    "upper trapezius",
    "middle trapezius",
    "lower trapezius",
    "levator scapulae",
    "splenius capitis",
    "sternocleidomastoid",
    "cervical multifidus",
    "supraspinatus",
    "infraspinatus",
    "teres major",
    "teres minor",
    "rhomboid major",
    "deltoid",
    "pectoralis minor",
    "biceps brachii",
    "extensor carpi radialis",
    "brachioradialis",
    "flexor carpi radialis",
    "thoracic paraspinals",
    "lumbar paraspinals",
    "lumbar multifidus",
    "quadratus lumborum",
    "gluteus maximus",
    "gluteus medius",
    "gluteus minimus",
    "piriformis",
    "tensor fasciae latae",
    "vastus lateralis",
    "vastus medialis",
    "rectus femoris",
    "biceps femoris",
    "semitendinosus",
    "gastrocnemius medialis",
    "gastrocnemius lateralis",
    "soleus",
    "tibialis anterior",
    "peroneus longus",
)
SIDES: tuple[str, ...] = ("R", "L", "")
#: Muscles labelled by spinal segment rather than trigger point.
SEGMENTAL: dict[str, tuple[str, ...]] = {
    "cervical multifidus": ("C3", "C4", "C5", "C6", "C7"),
    "thoracic paraspinals": tuple(f"T{i}" for i in range(1, 13)),
    "lumbar paraspinals": ("L1", "L2", "L3", "L4", "L5", "S1"),
    "lumbar multifidus": ("L1", "L2", "L3", "L4", "L5", "S1"),
}
#: Trigger-point numbers for the other muscles.
POINTS: tuple[str, ...] = ("TrP1", "TrP2", "TrP3", "TrP4", "")


def points_for(muscle: str) -> tuple[str, ...]:
    """The points offered for a muscle: spinal levels for segmental ones, else TrP1…"""
    return SEGMENTAL.get(muscle, POINTS)


def site_label(side: str, muscle: str, point: str) -> str:
    """Join the parts of a label, skipping empty ones.

    Examples
    --------
    >>> site_label("L", "lumbar multifidus", "L4")
    'L lumbar multifidus L4'
    >>> site_label("", "deltoid", "")
    'deltoid'
    """
    return " ".join(p.strip() for p in (side, muscle, point) if p and p.strip())
