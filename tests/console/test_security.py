"""Passwords, sessions, CSRF tokens and login throttling, without HTTP: every call takes the time."""

from datetime import timedelta

import pytest

from wenku_console.security import (
    LoginThrottle,
    Session,
    SessionStore,
    hash_password,
    is_password_hash,
    verify_password,
)

from .conftest import NOW, PASSWORD, PASSWORD_HASH

# -- passwords ------------------------------------------------------------------------------


def test_a_hash_verifies_its_password_and_no_other():
    assert verify_password(PASSWORD, PASSWORD_HASH) is True
    assert verify_password("正确的 horse batterY", PASSWORD_HASH) is False
    assert verify_password("", PASSWORD_HASH) is False


def test_the_stored_form_names_its_parameters_and_salt():
    hashed = hash_password("秘密", salt=bytes(16))
    assert hashed.startswith("scrypt$16384$8$1$" + "00" * 16 + "$")
    assert len(hashed.rsplit("$", 1)[1]) == 64  # 32 bytes of scrypt, in hex
    # The same salt gives the same hash; a fresh random salt a different one.
    assert hash_password("秘密", salt=bytes(16)) == hashed
    assert hash_password("秘密") != hash_password("秘密")


def test_is_password_hash_tells_a_hash_from_a_plain_password():
    assert is_password_hash(PASSWORD_HASH) is True
    assert is_password_hash(PASSWORD) is False
    assert is_password_hash("scrypt$16384$8$1$abcd") is False  # a part missing
    assert is_password_hash("bcrypt$16384$8$1$00$00") is False
    assert is_password_hash("") is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "hunter2",
        "scrypt$16384$8$1$00",  # a part missing
        "scrypt$x$8$1$00$00",  # n not a number
        "scrypt$0$8$1$00$00",  # n not a power of two
        "scrypt$16384$8$1$zz$00",  # salt not hex
        "scrypt$16384$8$1$00$not-hex",
        "scrypt$16384$0$1$00$00",  # r = 0
        "scrypt$1048576$8$1$00$00",  # would need 1 GB of memory
        "scrypt$99999999999999999999999$8$1$00$00",  # n too large for scrypt's integer
    ],
)
def test_a_malformed_stored_hash_never_matches_and_never_raises(stored):
    # A broken WENKU_ADMIN_PASSWORD must refuse every login, not crash the login page.
    assert verify_password(PASSWORD, stored) is False


# -- sessions -----------------------------------------------------------------------------------


def test_a_new_session_is_found_by_its_cookie_value():
    sessions = SessionStore()
    token, session = sessions.create(NOW, "127.0.0.1")
    assert (session.created_at, session.last_seen, session.address, session.flash) == (NOW, NOW, "127.0.0.1", [])
    assert len(session.csrf) >= 32 and session.csrf != token
    assert sessions.get(token, NOW + timedelta(minutes=5)) is session
    assert session.last_seen == NOW + timedelta(minutes=5)
    assert sessions.get("not-a-session", NOW) is None
    assert sessions.get(None, NOW) is None
    assert sessions.get("", NOW) is None


def test_two_sessions_have_different_tokens_and_csrf():
    sessions = SessionStore()
    first_token, first = sessions.create(NOW, "127.0.0.1")
    second_token, second = sessions.create(NOW, "127.0.0.1")
    assert first_token != second_token and first.csrf != second.csrf
    assert len(sessions) == 2


def test_a_session_idle_for_more_than_two_hours_ends():
    sessions = SessionStore()
    token, session = sessions.create(NOW, "127.0.0.1")
    # Exactly two hours idle is still allowed, and the visit counts as activity.
    assert sessions.get(token, NOW + timedelta(hours=2)) is session
    assert sessions.get(token, NOW + timedelta(hours=4, seconds=1)) is None
    assert len(sessions) == 0
    # Gone for good: going back in time does not revive it.
    assert sessions.get(token, NOW) is None


def test_a_session_ends_after_twelve_hours_however_active():
    sessions = SessionStore()
    token, session = sessions.create(NOW, "127.0.0.1")
    for hour in range(1, 13):
        assert sessions.get(token, NOW + timedelta(hours=hour)) is session
    assert sessions.get(token, NOW + timedelta(hours=12, seconds=1)) is None


def test_ending_a_session_forgets_it():
    sessions = SessionStore()
    token, _ = sessions.create(NOW, "127.0.0.1")
    other_token, other = sessions.create(NOW, "127.0.0.1")
    sessions.end(token)
    sessions.end(None)  # no cookie: nothing to end
    sessions.end("unknown")
    assert sessions.get(token, NOW) is None
    assert sessions.get(other_token, NOW) is other


def test_creating_a_session_drops_expired_ones():
    sessions = SessionStore()
    sessions.create(NOW, "127.0.0.1")
    sessions.create(NOW + timedelta(hours=3), "127.0.0.1")
    assert len(sessions) == 1


def test_check_csrf_accepts_only_the_sessions_token():
    session = Session(csrf="token-of-this-session", created_at=NOW, last_seen=NOW, address="127.0.0.1")
    assert session.check_csrf("token-of-this-session") is True
    assert session.check_csrf("token-of-another-session") is False
    assert session.check_csrf("token-of-this-sessio") is False
    assert session.check_csrf("") is False
    assert session.check_csrf(None) is False
    assert session.check_csrf("令牌") is False  # non-ASCII is compared, not a crash


# -- login throttling -------------------------------------------------------------------------


def fail(throttle: LoginThrottle, address: str, times: int, start=NOW, step=timedelta(minutes=1)) -> None:
    for attempt in range(times):
        throttle.failed(address, start + attempt * step)


def test_five_failures_within_15_minutes_lock_that_address_only():
    throttle = LoginThrottle()
    fail(throttle, "192.0.2.1", 4)  # at 0, 1, 2, 3 minutes
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=4)) is None
    throttle.failed("192.0.2.1", NOW + timedelta(minutes=4))
    # Locked until the first of the five failures is 15 minutes old.
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=5)) == timedelta(minutes=10)
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=14, seconds=59)) == timedelta(seconds=1)
    assert throttle.wait("192.0.2.2", NOW + timedelta(minutes=5)) is None


def test_the_lock_lifts_when_the_failures_age_out():
    throttle = LoginThrottle()
    fail(throttle, "192.0.2.1", 5)
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=15)) is None
    # One more failure right away locks again: four of the five are still recent.
    throttle.failed("192.0.2.1", NOW + timedelta(minutes=15))
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=15)) == timedelta(minutes=1)


def test_five_failures_spread_over_more_than_15_minutes_do_not_lock():
    throttle = LoginThrottle()
    fail(throttle, "192.0.2.1", 5, step=timedelta(minutes=4))  # at 0, 4, 8, 12, 16 minutes
    assert throttle.wait("192.0.2.1", NOW + timedelta(minutes=16)) is None


def test_thirty_failures_from_many_addresses_lock_everyone():
    throttle = LoginThrottle()
    for number in range(29):
        throttle.failed(f"198.51.100.{number}", NOW + timedelta(seconds=number))
    assert throttle.wait("203.0.113.7", NOW + timedelta(minutes=1)) is None
    throttle.failed("198.51.100.29", NOW + timedelta(seconds=29))
    # Even an address that never failed waits until the oldest of the thirty is 15 minutes old.
    assert throttle.wait("203.0.113.7", NOW + timedelta(minutes=1)) == timedelta(minutes=14)
    assert throttle.wait("203.0.113.7", NOW + timedelta(minutes=15)) is None


def test_a_success_clears_that_address_failures_only():
    throttle = LoginThrottle()
    fail(throttle, "192.0.2.1", 4)
    fail(throttle, "192.0.2.2", 4)
    throttle.succeeded("192.0.2.1")
    later = NOW + timedelta(minutes=5)
    fail(throttle, "192.0.2.1", 4, start=later)
    assert throttle.wait("192.0.2.1", later + timedelta(minutes=4)) is None  # 4 since the success, not 8
    throttle.failed("192.0.2.2", later)
    assert throttle.wait("192.0.2.2", later) == timedelta(minutes=10)
