"""``chatlab server`` and ``chatlab client`` driven as processes, as a user would from a shell."""

from __future__ import annotations

import signal
import subprocess

import pytest

from processes import TIMEOUT, Process, Terminal, chatlab_command, start_server


@pytest.fixture
def server():
    server, port = start_server()
    yield port
    server.kill()


def run_client(port: int, *args: str, input: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        chatlab_command("client", "--port", str(port), *args),
        input=input,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def listen_as(alias: str, port: int) -> Process:
    """A piped client that stays connected until its input is closed."""
    client = Process("client", "--port", str(port), "--alias", alias)
    client.expect(rf"^\*\*\* you joined as {alias}")
    return client


def test_piped_clients_chat(server):
    bob = listen_as("bob", server)
    alice = run_client(server, "--alias", "alice", input="hello bob\nsecond line\n")
    assert alice.returncode == 0, alice.stderr
    assert "alice: hello bob" not in alice.stdout  # no echo of one's own messages
    bob.expect(r"^\*\*\* alice joined$")
    bob.expect(r"^alice: hello bob$")
    bob.expect(r"^alice: second line$")
    bob.expect(r"^\*\*\* alice left$")
    bob.close_stdin()
    code, stderr = bob.finish()
    assert (code, stderr) == (0, "")


def test_escape_sequences_from_peers_are_shown_not_obeyed(server):
    bob = listen_as("bob", server)
    run_client(server, "--alias", "mallory", input="hi\x1b[2J\x07there\n")
    bob.expect(r"^mallory: hi\\x1b\[2J\\x07there$")
    bob.kill()


def test_non_utf8_input_is_sent_with_replacement_characters(server):
    bob = listen_as("bob", server)
    subprocess.run(
        chatlab_command("client", "--port", str(server), "--alias", "alice"),
        input=b"caf\xe9\n",
        capture_output=True,
        timeout=TIMEOUT,
    )
    bob.expect("^alice: caf\ufffd$")
    bob.kill()


def test_no_server_is_one_line_and_exit_3():
    server, port = start_server()
    server.kill()  # the port is now closed
    result = run_client(port, "--alias", "alice")
    assert result.returncode == 3
    assert result.stderr == f"chatlab: cannot connect to 127.0.0.1:{port}: connection refused (is `chatlab server` running?)\n"


def test_taken_alias_is_one_line_and_exit_4(server):
    bob = listen_as("bob", server)
    result = run_client(server, "--alias", "BOB", input="hi\n")
    assert result.returncode == 4
    assert result.stderr == "chatlab: the server refused the alias: alias 'BOB' is taken\n"
    bob.kill()


def test_invalid_alias_is_exit_4(server):
    result = run_client(server, "--alias", " ")
    assert result.returncode == 4 and "invalid alias" in result.stderr


def test_piped_client_needs_an_alias(server):
    result = run_client(server)
    assert result.returncode == 2 and "--alias is required" in result.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_server_stop_signal_reaches_clients_and_exits_cleanly(stop_signal):
    server, port = start_server()
    bob = listen_as("bob", port)
    server.popen.send_signal(stop_signal)
    bob.expect(r"^\*\*\* server shutting down$")
    code, stderr = bob.finish()
    assert code == 5
    assert stderr == "chatlab: server closed the connection\n"
    code, stderr = server.finish()
    assert code == 0
    assert "Traceback" not in stderr and "server: stopped" in stderr
    assert server.lines[-1] == "chatlab server stopped"


def test_server_logs_name_the_connection():
    server, port = start_server()
    run_client(port, "--alias", "alice", input="hi\n")
    server.interrupt()
    _, stderr = server.finish()
    assert "server: conn 1 (alice) joined" in stderr
    assert "server: conn 1 (alice) left (quit)" in stderr


def test_port_in_use_is_one_readable_line(server):
    result = subprocess.run(
        chatlab_command("server", "--port", str(server)), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1" in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["server"], ["client"]])
def test_help_explains_each_command(command):
    result = subprocess.run(chatlab_command(*command, "--help"), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0
    assert "usage: chatlab" in result.stdout
    assert "--port" in result.stdout or "client" in result.stdout


def test_interactive_client_keeps_what_is_being_typed(server):
    """On a terminal, a message arriving while alice types does not mangle her line."""
    bob = listen_as("bob", server)
    alice = Terminal("client", "--port", str(server), "--alias", "alice")
    try:
        alice.read_until(b"alice>")
        bob.expect(r"^\*\*\* alice joined$")
        alice.type(b"half a sen")
        alice.read_until(b"half a sen")
        bob.send_line("interrupting!")
        alice.read_until(b"bob: interrupting!")
        alice.type(b"tence\r")
        bob.expect(r"^alice: half a sentence$")
        alice.type(b"/quit\r")
        assert alice.popen.wait(TIMEOUT) == 0
    finally:
        alice.close()
        bob.kill()


def test_interactive_client_leaves_its_prompt_when_the_server_stops():
    server, port = start_server()
    alice = Terminal("client", "--port", str(port), "--alias", "alice")
    try:
        alice.read_until(b"alice>")
        server.interrupt()
        assert alice.popen.wait(TIMEOUT) == 5
        alice.read_until(b"server shutting down")
    finally:
        alice.close()
        server.kill()


def test_interactive_client_asks_for_an_alias(server):
    alice = Terminal("client", "--port", str(server))
    try:
        alice.read_until(b"alias?")
        alice.type(b"alice\r")
        alice.read_until(b"you joined as alice")
        alice.read_until(b"alice>")  # typed before the prompt runs, Ctrl+D would be a plain EOF
        alice.type(b"\x04")  # Ctrl+D leaves
        assert alice.popen.wait(TIMEOUT) == 0
    finally:
        alice.close()
