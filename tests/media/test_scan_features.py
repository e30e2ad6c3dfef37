"""``banjia scan`` and ``banjia migrate`` know the media endpoints: which URL means which, and which
provider types serve them."""

from __future__ import annotations

import pytest

from banjia.adaptors.media import MEDIA
from banjia.migrate._scan_features import support_for, url_feature

MEDIA_FEATURES = {"images": "images", "speech": "speech", "transcriptions": "transcription",
                  "rerank": "rerank"}


@pytest.mark.parametrize(("url", "feature"), [
    ("https://api.openai.com/v1/images/generations", "images"),
    ("https://api.openai.com/v1/audio/speech", "speech"),
    ("https://api.openai.com/v1/audio/transcriptions", "transcription"),
    ("https://api.openai.com/v1/audio/translations", "audio"),
    ("https://api.siliconflow.cn/v1/rerank", "rerank"),
])
def test_media_urls_name_their_feature(url: str, feature: str) -> None:
    assert url_feature(url) == feature


def test_the_feature_table_agrees_with_the_media_adaptors() -> None:
    for provider_type, vendor in MEDIA.items():
        served = {MEDIA_FEATURES[e] for e in vendor.serves}
        found = support_for(provider_type, MEDIA_FEATURES.values())
        assert {f for f, s in found.items() if s == "supported"} == served, provider_type


def test_types_without_media_support_none_of_it() -> None:
    assert set(support_for("deepseek", MEDIA_FEATURES.values()).values()) == {"unsupported"}
