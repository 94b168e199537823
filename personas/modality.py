from __future__ import annotations

from django.conf import settings


def detect_modality(name: str) -> str:
    """The modality a persona's name implies (source document 000: illustrator -> image,
    audio_director -> audio, anything else text); the map is QF_MODALITY_BY_NAME."""
    return settings.QF_MODALITY_BY_NAME.get(name.strip().lower(), "text")
