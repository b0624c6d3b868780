"""The pages' list downloads: one media type per export format, and a refused export's alert."""

from __future__ import annotations

import base64

from core.errors import ConfigError
from core.export import FORMATS
from dashapp.shared import downloads
from dashapp.shared.viewkit import InputRejectedError


def test_every_export_format_has_its_media_type() -> None:
    assert set(downloads.MEDIA_TYPES) == set(FORMATS)
    sent = downloads.send(b"a,b\n1,2\n", "list.csv", "csv")
    assert sent["filename"] == "list.csv"
    assert sent["type"] == "text/csv"
    assert base64.b64decode(sent["content"]) == b"a,b\n1,2\n"


def test_a_refused_export_says_nothing_was_exported_and_why() -> None:
    alert = downloads.refused(ConfigError("no such segment", hint="Pick one on the page."))
    text = str(alert.to_plotly_json())
    assert downloads.NOTHING_EXPORTED in text
    assert "no such segment" in text
    # A value no control sends is told as a setting that was not applied.
    rejected = str(downloads.refused(InputRejectedError("format must be one of 'csv'")))
    assert "That setting was not applied" in rejected
    assert downloads.NOTHING_EXPORTED not in rejected
