"""Control characters from tasks are shown, never obeyed (cli/terminal.py)."""

from __future__ import annotations

from headwater.cli.terminal import printable, printable_stream


def test_control_characters_are_shown_as_cat_v_shows_them() -> None:
    assert printable("a\x1b[2Jb\x07\x00\x7f\tc\n") == "a^[[2Jb^G^@^?\tc\n"
    assert printable("one\r\ntwo\rthree") == "one\ntwo^Mthree"
    assert printable("csi\x9b31m nel\x85") == "csi\\x9b31m nel\\x85"
    assert printable("plain ünïcödé ✓") == "plain ünïcödé ✓"


def test_a_stream_split_inside_a_crlf_or_a_character_reads_as_the_whole() -> None:
    whole = "é\r\nx\x1b]0;t\x07\r".encode()
    chunks = [whole[:1], whole[1:3], whole[3:]]  # é's two bytes apart; CR apart from its LF
    assert b"".join(printable_stream(chunks)) == printable(whole.decode()).encode()
    assert b"".join(printable_stream([b"\xff ok"])) == "\ufffd ok".encode()
