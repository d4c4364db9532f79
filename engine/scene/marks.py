"""Markup of HUD text lines: what stands between MARK_ON and MARK_OFF is drawn highlighted (the token
just fed to a generating model). Here, not in render/, because compute writes such lines."""
MARK_ON, MARK_OFF = "\x01", "\x02"


def strip_marks(text: str) -> str:
    """The text as it reads, without the marks."""
    return text.replace(MARK_ON, "").replace(MARK_OFF, "")
