"""Live chat panels for the notebooks: a chatlab server in the kernel, and one panel per user.

    server = serve_in_kernel()                 # re-running the cell replaces the server
    alice = ChatPanel("alice", server.address)
    bob = ChatPanel("bob", server.address)
    chat_row(alice, bob)                       # two panels side by side

A panel is a real :class:`~chatlab.ChatClient` on a real socket, shown as a
widget: who is online, the lines of the chat, a text box and a Send button.
It can be driven by hand (type, press Enter) or from code (:meth:`ChatPanel.say`,
:meth:`ChatPanel.wait_for`), so a notebook can check what a person would see.

Invariants:

* events arrive in the client's receive thread, and that thread updates the
  widgets by setting their values (never ``with output:``, which would print
  into whichever cell happens to be running);
* every change to a panel's lines and widgets happens under the panel's one
  lock, so the widgets always show :attr:`ChatPanel.lines` in order;
* the server does not echo a message to its sender, so the panel adds
  ``alice: hi`` to alice's own log when she sends it: once, in order.
"""

from __future__ import annotations

import html
import threading
from typing import Callable

import ipywidgets as widgets

from .client import ChatClient
from .display import format_event, visible
from .errors import ConnectionClosed
from .events import Event, Joined, Left, Message, Shutdown, Welcome
from .server import ChatServer

__all__ = ["ChatPanel", "chat_row", "serve_in_kernel", "stop_server"]

#: Inline styles of the log's lines: your own messages, and notices (``*** bob joined``).
_MINE = "color: #1a4f9c;"
_NOTICE = "color: #777; font-style: italic;"

#: The server started by :func:`serve_in_kernel`, so that re-running a cell can replace it.
_server: ChatServer | None = None
_server_lock = threading.Lock()


def serve_in_kernel(**limits) -> ChatServer:
    """Start a chat server on 127.0.0.1, on a free port, inside this kernel; return it.

    ``limits`` are :class:`~chatlab.ChatServer`'s keyword arguments
    (``handshake_timeout``, ``max_clients``, ...). If a server started this way
    is still running (the cell was run again), it is stopped first, so there
    is only ever one. :func:`stop_server` stops it.
    """
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
        _server = None
        _server = ChatServer("127.0.0.1", 0, **limits).start()
        return _server


def stop_server() -> None:
    """Stop the server started by :func:`serve_in_kernel`, if any; its panels see the shutdown."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
        _server = None


class ChatPanel(widgets.VBox):
    """One user in the chat, as a widget: it joins as soon as it is created.

    For callers: :meth:`say`, :meth:`wait_for`, :meth:`leave`, and the
    attributes :attr:`alias`, :attr:`lines` (the text shown in the log),
    :attr:`online` (who is in the chat, as far as this user knows) and
    :attr:`connected`. ``str(panel)`` is the same state as plain text.

    ``address`` is a ``(host, port)`` pair, or a server (its ``.address`` is used).
    Creating a panel raises what :meth:`ChatClient.connect` raises, for
    example :class:`~chatlab.AliasRefused` when the alias is taken.
    """

    def __init__(self, alias: str, address, *, timeout: float = 10.0, **kwargs) -> None:
        host, port = getattr(address, "address", address)
        self._lines: list[str] = []
        self._styles: list[str] = []  # how each line is drawn: _MINE, _NOTICE or ""
        self._online: list[str] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._leaving = False
        self._connected = False
        self._title_html = widgets.HTML()
        self._online_html = widgets.HTML()
        self._log_html = widgets.HTML()
        self._text = widgets.Text(placeholder="say something, press Enter", continuous_update=True)
        self._send_button = widgets.Button(description="Send", tooltip="send this message to everyone else")
        for widget, name in [
            (self._title_html, "chatlab-alias"),
            (self._online_html, "chatlab-online"),
            (self._log_html, "chatlab-log"),
            (self._text, "chatlab-input"),
            (self._send_button, "chatlab-send"),
        ]:
            widget.add_class(name)
        self._text.layout = widgets.Layout(flex="1 1 auto", width="auto")
        self._send_button.layout = widgets.Layout(width="70px")
        self._text.on_msg(self._on_input_message)  # Enter in the text box
        self._send_button.on_click(lambda _button: self._send_typed())
        kwargs.setdefault(
            "layout",
            widgets.Layout(width="310px", border="1px solid #bbb", padding="4px", margin="0 8px 8px 0"),
        )
        self._entry = widgets.HBox([self._text, self._send_button])
        parts = [self._title_html, self._online_html, self._log_html, self._entry]
        super().__init__(children=parts, **kwargs)
        self.add_class("chatlab-panel")
        self.add_class(f"chatlab-panel-{_css_name(alias)}")
        self.alias = alias
        # Events may arrive as soon as the client exists, before connect() returns:
        # the callbacks wait for this lock, so the welcome line is always first.
        with self._lock:
            try:
                self.client = ChatClient.connect(
                    host, port, alias, timeout=timeout, on_event=self._on_event, on_close=self._on_close
                )
            except BaseException:
                for widget in [*self._parts(), self]:  # never to be shown: release them
                    widget.close()
                raise
            self._connected = True
            self._online = [*self.client.online, alias]  # those already here joined first
            self._add(format_event(Welcome(alias, self.client.online)))

    def _parts(self) -> list[widgets.Widget]:
        return [*self.children, self._text, self._send_button]

    # -- for callers --------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The lines of the log, oldest first (a copy)."""
        with self._lock:
            return list(self._lines)

    @property
    def online(self) -> list[str]:
        """Who is in the chat, this user included, in the order they joined; empty once disconnected."""
        with self._lock:
            return list(self._online)

    @property
    def connected(self) -> bool:
        """True until this user leaves or the connection ends."""
        with self._lock:
            return self._connected

    def say(self, text: str) -> None:
        """Send ``text`` to everyone else, as if typed and sent; it appears once in this log.

        Raises ``ValueError`` for an empty or over-long message and
        :class:`~chatlab.ConnectionClosed` if this user is no longer connected.
        """
        # Under the lock: a reply cannot be shown before the line it replies to.
        with self._lock:
            self.client.say(text)
            self._add(format_event(Message(self.alias, text)), _MINE)

    def wait_for(self, match: str | Callable[[str], bool], timeout: float = 5) -> str:
        """Wait until a line of the log matches, and return that line.

        ``match`` is a piece of text the line must contain, or a function
        from a line to ``True``/``False``. Lines already in the log count, so
        nothing can be missed by waiting too late. Raises ``TimeoutError``
        listing the lines seen if no line matches within ``timeout`` seconds.
        """
        test = (lambda line: match in line) if isinstance(match, str) else match
        found: list[str] = []

        def matched() -> bool:
            found[:] = [line for line in self._lines if test(line)][:1]
            return bool(found)

        with self._changed:
            if not self._changed.wait_for(matched, timeout):
                seen = "\n".join(f"    {line}" for line in self._lines) or "    (none)"
                raise TimeoutError(
                    f"{self.alias}: no line matching {match!r} within {timeout} s; lines:\n{seen}"
                )
            return found[0]

    def leave(self) -> None:
        """Leave the chat (like closing the terminal client); the others see ``*** alice left``."""
        with self._lock:
            self._leaving = True
        self.client.close()  # returns once the receive thread has finished

    # -- the widgets' handlers (kernel's main thread) -------------------------

    def _on_input_message(self, _widget, content: dict, _buffers) -> None:
        if content.get("event") == "submit":
            self._send_typed()

    def _send_typed(self) -> None:
        text = self._text.value
        if not text.strip():
            return
        try:
            self.say(text)
        except (ValueError, ConnectionClosed) as exc:
            with self._lock:
                self._add(f"*** not sent: {exc}")
            return
        with self._lock:  # the receive thread may be disabling this box right now
            self._text.value = ""

    # -- from the client's receive thread ------------------------------------

    def _on_event(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Joined):
                self._online.append(event.alias)
            elif isinstance(event, Left) and event.alias in self._online:
                self._online.remove(event.alias)
            self._add(format_event(event))
            if isinstance(event, Shutdown):
                self._online = []
                self._show_online()

    def _on_close(self, reason: str) -> None:
        with self._lock:
            self._connected = False
            self._online = []
            self._add("*** you left" if self._leaving else f"*** disconnected ({visible(reason)})")
            self._text.disabled = True
            self._send_button.disabled = True
        if not self._leaving:
            # The server hung up: close our side too, so it need not wait for us.
            # close() cannot finish inside the receive thread, hence a thread.
            name = f"chatlab-panel-{self.alias}-close"
            threading.Thread(target=self.client.close, name=name, daemon=True).start()

    # -- drawing (always with the lock held) ----------------------------------

    def _add(self, line: str, style: str | None = None) -> None:
        self._lines.append(line)
        self._styles.append(_NOTICE if style is None and line.startswith("***") else style or "")
        self._show_online()
        rows = "".join(
            f'<div class="chatlab-line" style="{style}">{html.escape(text)}</div>'
            for text, style in zip(self._lines, self._styles)
        )
        # column-reverse keeps the newest line in view as the log grows.
        self._log_html.value = (
            '<div style="height: 180px; overflow-y: auto; display: flex; flex-direction: column-reverse;'
            ' font-family: monospace; font-size: 12px; line-height: 1.4; background: #fafafa;'
            ' border: 1px solid #ddd; padding: 2px 4px;">'
            f'<div style="white-space: pre-wrap; overflow-wrap: anywhere;">{rows}</div></div>'
        )
        self._changed.notify_all()

    def _show_online(self) -> None:
        title = f"<b>{html.escape(visible(self.alias))}</b>"
        if not self._connected:
            title += " <i>(offline)</i>"
        self._title_html.value = title
        others = ", ".join(html.escape(visible(a)) for a in self._online) or "nobody (not connected)"
        self._online_html.value = f'<span style="color: #555; font-size: 12px;">online: {others}</span>'

    # -- plain text ------------------------------------------------------------

    def __str__(self) -> str:
        with self._lock:
            state = "connected" if self._connected else "offline"
            online = ", ".join(self._online) or "-"
            head = f"[{self.alias}] {state}; online: {online}"
            return "\n".join([head, *(f"  {line}" for line in self._lines)])

    __repr__ = __str__

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = str(self)
        return bundle


class ChatRow(widgets.HBox):
    """Panels side by side; ``str()`` is their states, one after the other."""

    def __init__(self, panels: list[ChatPanel], **kwargs) -> None:
        kwargs.setdefault("layout", widgets.Layout(flex_flow="row wrap"))
        super().__init__(children=list(panels), **kwargs)
        self.panels = list(panels)
        self.add_class("chatlab-row")

    def __str__(self) -> str:
        return "\n".join(str(panel) for panel in self.panels)

    __repr__ = __str__

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = str(self)
        return bundle


def chat_row(*panels: ChatPanel) -> ChatRow:
    """Return the panels side by side, as one widget (an ``HBox``) to display."""
    return ChatRow(list(panels))


def _css_name(alias: str) -> str:
    """``alias`` as a CSS class suffix: letters, digits, ``-`` and ``_`` kept, the rest ``_``."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in alias)
