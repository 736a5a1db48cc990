"""Feature keys carry the user as a Redis Cluster hash tag: a user's groups share one slot (so the
one-script read and the per-user write are legal on a cluster), users spread over the slots."""

from __future__ import annotations

from redis.crc import key_slot

from feature_cache.precompute.records import redis_key
from feature_cache.serving.keys import VIEW, GroupName, group_key, ttl_key


def test_a_group_key_tags_the_user() -> None:
    assert group_key("fc", "u000042", GroupName.SOCIAL) == "fc:{u000042}:social"
    assert group_key("lt1a2b:fc", "u-7_x", "intent") == "lt1a2b:fc:{u-7_x}:intent"


def test_the_reader_and_the_materializer_build_the_same_key() -> None:
    for user in ("u000042", "u-7_x"):
        for g in ("activity", *(g.name.value for g in VIEW)):
            assert group_key("fc", user, g) == redis_key("fc", user, g)


def test_a_users_groups_share_one_slot_and_users_spread() -> None:
    slots = {key_slot(group_key("fc", "u42", g.name).encode()) for g in VIEW}
    assert len(slots) == 1
    assert slots == {key_slot(b"u42")}  # only the tag is hashed
    users = {key_slot(group_key("fc", f"u{i:06d}", GroupName.SOCIAL).encode()) for i in range(200)}
    assert len(users) > 150  # 200 users over 16384 slots: a few may collide, most do not


def test_the_published_ttls_are_no_users_key() -> None:
    assert ttl_key("fc") == "fc:_ttl"
    assert "{" not in ttl_key("fc")
