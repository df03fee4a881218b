"""The console password: scrypt hashes, constant-time checks, and `wenku password`."""

from click.testing import CliRunner

from wenku.cli import main
from wenku.passwords import hash_password, is_password_hash, verify_password


def test_a_hash_verifies_its_password_only():
    stored = hash_password("correct horse", salt=bytes(16))
    assert stored.startswith("scrypt$16384$8$1$" + "00" * 16 + "$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("", stored)


def test_each_hash_has_its_own_salt():
    assert hash_password("same") != hash_password("same")


def test_damaged_hashes_never_verify():
    for stored in ["", "scrypt", "scrypt$x$8$1$00$00", "plain-password", "scrypt$16384$8$1$zz$zz"]:
        assert not verify_password("plain-password", stored)


def test_hashes_are_told_from_plain_passwords():
    assert is_password_hash(hash_password("x"))
    assert not is_password_hash("my$secret$pass")
    assert not is_password_hash("scrypt$16384$8$1$abc$def$")


def test_cli_prints_a_hash_line_for_the_env_file(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "w.db"), "password"], input="longenough\nlongenough\n")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("WENKU_ADMIN_PASSWORD=scrypt$")
    assert verify_password("longenough", line.split("=", 1)[1])
    assert "longenough" not in result.output  # hidden input is not echoed, and the hash is all that is printed
    assert not (tmp_path / "w.db").exists()  # hashing a password opens no database


def test_cli_refuses_a_short_password(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "w.db"), "password"], input="short\nshort\n")
    assert result.exit_code == 2
    assert "至少 8 个字符" in result.output
