"""The notebook chat panels, on real sockets (no browser): what each user would see in their panel."""

from __future__ import annotations

import pytest

from chatlab import MAX_FRAME_SIZE, AliasRefused, ConnectionClosed
from chatlab.widgets import ChatPanel, chat_row, serve_in_kernel, stop_server


@pytest.fixture
def server():
    """The kernel's chat server, as a notebook starts it; stopped after the test."""
    server = serve_in_kernel(handshake_timeout=2.0)
    yield server
    stop_server()


@pytest.fixture
def panel(server):
    """``panel(alias)`` joins the chat as a new panel; every panel leaves after the test."""
    panels = []

    def panel(alias: str) -> ChatPanel:
        new = ChatPanel(alias, server.address, timeout=5)
        panels.append(new)
        return new

    yield panel
    for each in panels:
        each.leave()


@pytest.fixture
def trio(panel):
    """alice, bob and carol, each having seen everyone join."""
    alice, bob, carol = panel("alice"), panel("bob"), panel("carol")
    alice.wait_for("*** carol joined")
    bob.wait_for("*** carol joined")
    return alice, bob, carol


def test_message_reaches_everyone_once(trio):
    alice, bob, carol = trio
    alice.say("hi everyone")
    assert bob.wait_for("hi everyone") == "alice: hi everyone"
    assert carol.wait_for("hi everyone") == "alice: hi everyone"
    # bob answers only after seeing alice's line, so any echo of it would reach
    # alice before his answer: once she sees the answer, her log is complete.
    bob.say("hello alice")
    alice.wait_for("bob: hello alice")
    carol.wait_for("bob: hello alice")
    for who in trio:
        assert who.lines.count("alice: hi everyone") == 1, who
        assert who.lines.count("bob: hello alice") == 1, who
    assert alice.lines.index("alice: hi everyone") < alice.lines.index("bob: hello alice")


def test_welcome_line_and_online_list(trio):
    alice, bob, carol = trio
    assert alice.lines[0] == "*** you joined as alice; online: nobody else yet"
    assert carol.lines[0] == "*** you joined as carol; online: alice, bob"
    assert alice.online == bob.online == carol.online == ["alice", "bob", "carol"]
    assert "alice, bob, carol" in alice._online_html.value


def test_log_widget_shows_the_lines(trio):
    alice, bob, _ = trio
    alice.say("<b>not bold</b>")
    bob.wait_for("not bold")
    assert "alice: &lt;b&gt;not bold&lt;/b&gt;" in bob._log_html.value
    assert "*** carol joined" in bob._log_html.value


def test_enter_and_send_button_send_the_typed_text(trio):
    alice, bob, carol = trio
    alice._text.value = "typed, then Enter"
    alice._text._msg_callbacks(alice._text, {"event": "submit"}, [])  # what the browser sends on Enter
    assert bob.wait_for("typed, then Enter") == "alice: typed, then Enter"
    assert alice._text.value == ""
    bob._text.value = "typed, then Send"
    bob._send_button.click()
    assert carol.wait_for("typed, then Send") == "bob: typed, then Send"
    assert alice.wait_for("typed, then Send") == "bob: typed, then Send"
    assert bob.lines.count("bob: typed, then Send") == 1
    assert alice.lines.count("alice: typed, then Enter") == 1


def test_empty_box_sends_nothing(trio):
    alice, _, _ = trio
    before = alice.lines
    alice._text.value = "   "
    alice._send_button.click()
    assert alice.lines == before


def test_leaving_tells_the_others(trio):
    alice, bob, carol = trio
    carol.leave()
    assert alice.wait_for("carol left") == "*** carol left"
    assert bob.wait_for("carol left") == "*** carol left"
    assert carol.lines[-1] == "*** you left"
    assert not carol.connected
    assert alice.online == ["alice", "bob"]
    with pytest.raises(ConnectionClosed):
        carol.say("anyone?")
    carol._text.value = "anyone?"
    assert carol._text.disabled and carol._send_button.disabled


def test_server_stop_shows_the_shutdown_line(trio):
    alice, bob, carol = trio
    stop_server()
    for who in trio:
        assert who.wait_for("shutting down") == "*** server shutting down"
        who.wait_for("*** disconnected")
        assert not who.connected
        assert who.online == []
    assert "(offline)" in alice._title_html.value


def test_taken_alias_is_refused_whatever_the_case(panel):
    panel("alice")
    with pytest.raises(AliasRefused, match="taken"):
        panel("ALICE")


def test_rerunning_serve_in_kernel_replaces_the_server(server, panel):
    old = panel("alice")
    new_server = serve_in_kernel(handshake_timeout=2.0)
    assert new_server is not server
    assert server.stopped
    assert old.wait_for("shutting down") == "*** server shutting down"
    fresh = ChatPanel("alice", new_server.address, timeout=5)  # the alias is free on the new server
    try:
        assert fresh.lines == ["*** you joined as alice; online: nobody else yet"]
        assert new_server.online() == ["alice"]
    finally:
        fresh.leave()
    with pytest.raises(ConnectionRefusedError):
        ChatPanel("bob", server.address, timeout=5)


def test_wait_for_gives_up_and_shows_what_it_saw(panel):
    alice = panel("alice")
    with pytest.raises(TimeoutError, match="(?s)nothing like this.*you joined as alice"):
        alice.wait_for("nothing like this", timeout=0.2)
    assert alice.wait_for(lambda line: line.startswith("*** you joined")).endswith("nobody else yet")


def test_plain_text_state(trio):
    alice, bob, carol = trio
    alice.say("hi")
    bob.wait_for("alice: hi")
    carol.wait_for("alice: hi")
    assert str(bob) == (
        "[bob] connected; online: alice, bob, carol\n"
        "  *** you joined as bob; online: alice\n"
        "  *** carol joined\n"
        "  alice: hi"
    )
    assert repr(bob) == str(bob)
    assert bob._repr_mimebundle_()["text/plain"] == str(bob)
    row = chat_row(alice, bob, carol)
    assert list(row.children) == [alice, bob, carol]
    assert str(row) == "\n".join([str(alice), str(bob), str(carol)])


def test_a_message_too_long_is_not_sent_and_the_panel_says_why(trio):
    alice, bob, _ = trio
    alice._text.value = "x" * (MAX_FRAME_SIZE + 1)
    alice._send_button.click()
    assert alice.lines[-1].startswith("*** not sent: message too long")
    assert alice._text.value == "x" * (MAX_FRAME_SIZE + 1)  # kept, to be shortened
    alice._text.value = "a shorter one"
    alice._send_button.click()
    assert bob.wait_for("shorter") == "alice: a shorter one"
    assert not any(line.startswith("alice: xxx") for line in bob.lines)
