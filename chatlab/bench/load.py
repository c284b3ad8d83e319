"""The load generator: subscriber and publisher processes, each its own Python process.

Why processes: a Python process runs Python on one core at a time (the GIL).
If the clients shared the benchmark's process, we would measure the clients.

Timeline, in ``time.monotonic_ns()`` (one clock for every process on the machine)::

    start ---- warm-up ---- t0 ====== measured ====== t1 ---- drain ---- end
    publishers publish from start to t1; subscribers count what arrives in
    [t0, t1); after t1 they wait until every published message has arrived,
    or the drain time is up.

A message is **lost** if a later one from the same publisher arrived before
it ever did (a gap), or if the server closed the subscriber; it is **late**
if it had not arrived when the drain time ran out, with nothing after it.

Every loop here is bounded by a deadline; a worker that fails reports the
error on the results queue and exits.
"""

from __future__ import annotations

import math
import select
import selectors
import socket
import time
import traceback

import numpy as np

from .wire import WIRES, message_text, publisher_alias, subscriber_alias

#: Latency histogram: BUCKETS_PER_DOUBLING buckets per power of two of nanoseconds (about 2 % wide).
BUCKETS_PER_DOUBLING = 32
BUCKETS = 64 * BUCKETS_PER_DOUBLING
RECV_SIZE = 256 * 1024
CONNECT_TIMEOUT = 60.0  # generous: joining thousands of clients on a busy machine is slow
DRAIN_SECONDS = 20.0  # ends as soon as everything has arrived; long only if something is lost


class Shared:
    """What the parent and the workers share: a few arrays of int64 in shared memory, and events.

    ``times``: start, t0, t1 (ns); ``acks[s * publishers + p]``: the highest
    sequence number from publisher ``p`` that *every* client of subscriber
    process ``s`` has received (closed loop); ``sent[p]``: how many publisher
    ``p`` sent, -1 until it is done; ``progress[s]``: deliveries counted so far.
    """

    def __init__(self, ctx, subscriber_procs: int, publishers: int) -> None:
        self.times = ctx.Array("q", 3, lock=False)
        self.acks = ctx.Array("q", subscriber_procs * publishers, lock=False)
        self.sent = ctx.Array("q", [-1] * publishers, lock=False)
        self.progress = ctx.Array("q", subscriber_procs, lock=False)
        self.go = ctx.Event()
        self.stop = ctx.Event()
        self.reports = ctx.Queue()


def _join_in_bursts(wire, address, first: int, count: int, socks: list, burst: int = 50, between=None) -> None:
    """Connect subscribers ``first`` to ``first + count - 1``, appending their sockets to ``socks``.

    Each burst sends all its hellos before reading any welcome, so a server
    can announce many joins in one write to each member. ``between()``, if
    given, runs after each burst.
    """
    for start in range(first, first + count, burst):
        group = []
        for n in range(start, min(start + burst, first + count)):
            sock = _connect(address)
            socks.append(sock)
            group.append((sock, subscriber_alias(n)))
        for sock, name in group:
            wire.start_join(sock, name)
        for sock, name in group:
            wire.finish_join(sock, name)
        if between is not None:
            between(group)


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _wait_for_go(shared: Shared) -> None:
    if not shared.go.wait(60):
        raise TimeoutError("the benchmark never started")


def run_worker(role: str, index: int, shared: Shared, **kwargs) -> None:
    """Process entry point: run ``role`` and put ``(role, index, result or error)`` on the queue."""
    try:
        result = {"subscriber": _subscribe, "publisher": _publish, "idle": _hold_idle}[role](
            index, shared, **kwargs
        )
        shared.reports.put((role, index, "result", result))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        shared.reports.put((role, index, "error", f"{role} {index}: {exc!r}\n{traceback.format_exc()}"))


# -- subscribers ----------------------------------------------------------------


class _Counter:
    """Everything one subscriber process learns from its connections' bytes."""

    def __init__(self, wire, connections: int, publishers: int, t0: int, t1: int) -> None:
        self.wire = wire
        self.publishers = publishers
        self.t0, self.t1 = t0, t1
        self.rest = [b""] * connections  # bytes of an incomplete frame, per connection
        self.last = np.zeros((connections, publishers), dtype=np.int64)  # highest seq seen
        self.received = np.zeros((connections, publishers), dtype=np.int64)
        self.reordered = 0
        self.alive = np.ones(connections, dtype=bool)  # False once the server has closed it
        self.in_window = 0
        self.hist = np.zeros(BUCKETS, dtype=np.int64)
        self.max_ns = 0

    def take_round(self, chunks: list[tuple[int, bytes, int]]) -> None:
        """Take one round of ``(connection, bytes, receive time)``: all of it in a few numpy calls.

        Each connection's whole frames are joined into one array; if every row
        is a benchmark message (the usual case once the run has started) it is
        counted at once. Otherwise each chunk goes the slow way, :meth:`feed`.
        """
        size = self.wire.frame_size
        parts, conns, counts, times = [], [], [], []
        for conn, data, now in chunks:
            buf = self.rest[conn] + data if self.rest[conn] else data
            whole = len(buf) // size * size
            self.rest[conn] = buf[whole:]
            if whole:
                parts.append(buf[:whole])
                conns.append(conn)
                counts.append(whole // size)
                times.append(now)
        if not parts:
            return
        frames = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(-1, size)
        if self.wire.is_message(frames).all():
            self._count(np.repeat(conns, counts), frames, np.repeat(np.array(times, dtype=np.int64), counts))
            return
        for conn, part, now in zip(conns, parts, times):  # some other frame is in there
            self.rest[conn] = part + self.rest[conn]
            self.feed(conn, b"", now)

    def feed(self, conn: int, data: bytes, now: int) -> None:
        """The slow way: walk one connection's bytes, skipping frames that are not benchmark messages."""
        wire, size = self.wire, self.wire.frame_size
        buf = self.rest[conn] + data if self.rest[conn] else data
        pos = 0
        while True:
            left = len(buf) - pos
            whole = left // size
            if whole and buf.startswith(wire.head, pos):
                frames = np.frombuffer(buf, dtype=np.uint8, count=whole * size, offset=pos).reshape(whole, size)
                ok = wire.is_message(frames)
                good = whole if ok.all() else int(ok.argmin())  # messages before the first other frame
                if good:
                    self._count(np.full(good, conn), frames[:good], np.full(good, now, dtype=np.int64))
                    pos += good * size
                    continue
            if left == 0:
                break
            end = wire.skip(buf, pos)  # another kind of frame (a "joined" notice), or too few bytes
            if end is None:
                break
            pos = end
        self.rest[conn] = buf[pos:]

    def _count(self, conns: np.ndarray, frames: np.ndarray, received_at: np.ndarray) -> None:
        """Count messages (rows of ``frames``, in arrival order per connection), check order, time them."""
        pub, seq, sent = self.wire.parse(frames)
        key = conns * self.publishers + pub  # one stream per (connection, publisher)
        order = np.argsort(key, kind="stable")  # stable: arrival order kept within each stream
        key, seq_in_order = key[order], seq[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        last = self.last.reshape(-1)  # a view: updates land in self.last
        # In order means every number is higher than the one before it in its stream.
        before = np.empty_like(seq_in_order)
        before[first] = last[key[first]]
        before[~first] = seq_in_order[:-1][~first[1:]]
        self.reordered += int(np.count_nonzero(seq_in_order <= before))
        np.maximum.at(last, key, seq_in_order)
        self.received += np.bincount(key, minlength=self.received.size).reshape(self.received.shape)
        inside = (received_at >= self.t0) & (received_at < self.t1)
        if inside.any():
            latency = np.maximum(received_at[inside] - sent[inside], 1)
            self.in_window += len(latency)
            buckets = (np.log2(latency) * BUCKETS_PER_DOUBLING).astype(np.int64)
            self.hist += np.bincount(np.minimum(buckets, BUCKETS - 1), minlength=BUCKETS)
            self.max_ns = max(self.max_ns, int(latency.max()))

    def lost_and_late(self, sent: np.ndarray) -> tuple[int, int]:
        """Given how many each publisher sent: ``(lost, late)`` over all connections.

        Lost: below the highest number received and never received, or never
        received by a connection the server closed. Late: above the highest
        number received on a connection still open: maybe still on its way.
        """
        sent = np.maximum(sent, 0)[None, :]
        below = (self.last - self.received)[self.alive].sum()
        dropped = np.clip(sent - self.received, 0, None)[~self.alive].sum()
        late = np.clip(sent - self.last, 0, None)[self.alive].sum()
        return int(below + dropped), int(late)

    def acknowledged(self, publisher: int) -> int:
        """The highest number from ``publisher`` that every open connection has received."""
        last = self.last[self.alive, publisher]
        return int(last.min()) if last.size else 1 << 62


def _subscribe(index, shared, *, wire, size, address, first, count, publishers, subscriber_procs, pause=0.0):
    wire = WIRES[wire](size)
    socks = []
    try:
        _join_in_bursts(wire, address, first, count, socks)
        shared.reports.put(("subscriber", index, "ready", None))
        _wait_for_go(shared)
        start, t0, t1 = shared.times[:]
        counter = _Counter(wire, len(socks), publishers, t0, t1)
        selector = selectors.DefaultSelector()
        for conn, sock in enumerate(socks):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, conn)
        closed_early = 0
        cpu = [None, None]
        deadline = t1 + int(DRAIN_SECONDS * 1e9)
        while counter.alive.any() and (now := time.monotonic_ns()) < deadline and not shared.stop.is_set():
            if cpu[0] is None and now >= t0:
                cpu[0] = time.process_time()
            if cpu[1] is None and now >= t1:
                cpu[1] = time.process_time()
            if now >= t1:
                sent = np.array(shared.sent[:])
                if (sent >= 0).all() and (counter.received[counter.alive] >= sent).all():
                    break  # everything published has arrived
            chunks = []
            for key, _ in selector.select(0.005):
                try:
                    data = key.fileobj.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # the server closed it: dropped as too slow, or gone
                    selector.unregister(key.fileobj)
                    closed_early += 1
                    counter.alive[key.data] = False
                    continue
                chunks.append((key.data, data, time.monotonic_ns()))
            counter.take_round(chunks)
            if pause:  # closed loop: let bytes pile up a little, fewer and bigger reads
                time.sleep(pause)
            base = index * publishers
            for p in range(publishers):
                shared.acks[base + p] = counter.acknowledged(p)
            shared.progress[index] = counter.in_window
        if cpu[1] is None:
            cpu[1] = time.process_time()
        lost, late = counter.lost_and_late(np.array(shared.sent[:]))
        return {
            "deliveries": counter.in_window,
            "hist": counter.hist.tolist(),
            "max_ns": counter.max_ns,
            "lost": lost,
            "late": late,
            "reordered": counter.reordered,
            "closed_early": closed_early,
            "cpu_s": cpu[1] - (cpu[0] if cpu[0] is not None else cpu[1]),
        }
    finally:
        for sock in socks:
            sock.close()


# -- publishers ---------------------------------------------------------------


def _publish(index, shared, *, wire, size, address, window, rate, batch, subscriber_procs, publishers):
    """Publish numbered, timestamped messages until t1: closed loop (``window``) or paced (``rate``/s)."""
    wire = WIRES[wire](size)
    sock = _connect(address)
    try:
        wire.join(sock, publisher_alias(index))
        shared.reports.put(("publisher", index, "ready", None))
        _wait_for_go(shared)
        start, t0, t1 = shared.times[:]
        sock.settimeout(CONNECT_TIMEOUT)
        acks = range(index, subscriber_procs * publishers, publishers)
        seq = 0
        while True:
            _drain(sock)  # what the server sends us (others' messages, replies): read and drop
            now = time.monotonic_ns()
            if now >= t1 or shared.stop.is_set():
                break
            if now < start:
                time.sleep(min(0.001, (start - now) / 1e9))
                continue
            if rate:
                due = math.floor((now - start) * rate / 1e9) - seq
            else:
                due = window - (seq - min(shared.acks[i] for i in acks))
            n = min(due, batch)
            if n <= 0:
                if rate:
                    wait = (seq + 1 - (now - start) * rate / 1e9) / rate
                else:
                    wait = 0.0002  # the subscribers will catch up: look again soon
                select.select([sock], [], [], min(max(wait, 0.0), 0.01))
                continue
            texts = [message_text(index, seq + i + 1, now, size) for i in range(n)]
            sock.sendall(wire.publish(texts))
            seq += n
        shared.sent[index] = seq
        # Keep reading until the subscribers are done, so the server never finds us slow.
        while not shared.stop.is_set():
            _drain(sock)
            shared.stop.wait(0.01)
        return {"sent": seq}
    finally:
        sock.close()


def _drain(sock: socket.socket) -> None:
    for _ in range(64):  # bounded: come back to publishing soon
        if not select.select([sock], [], [], 0)[0]:
            return
        if not sock.recv(RECV_SIZE):
            raise ConnectionError("the server closed the publisher's connection")


# -- idle connections -------------------------------------------------------------


def _hold_idle(index, shared, *, wire, size, address, first, count):
    """Open ``count`` connections that join and then say nothing; read and drop what comes, until stop."""
    wire = WIRES[wire](size)
    socks = []
    selector = selectors.DefaultSelector()
    try:

        def drain(timeout: float) -> None:
            for key, _ in selector.select(timeout):
                try:
                    if not key.fileobj.recv(RECV_SIZE):
                        selector.unregister(key.fileobj)
                except (BlockingIOError, InterruptedError):
                    pass

        def between(group) -> None:
            # Read what the members already in were sent (join notices), as real clients do:
            # unread, thousands of notices would pile up in the server, not in the clients.
            for sock, _ in group:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            drain(0)

        _join_in_bursts(wire, address, first, count, socks, between=between)
        shared.reports.put(("idle", index, "ready", None))
        deadline = time.monotonic() + 600
        while not shared.stop.is_set() and time.monotonic() < deadline:
            drain(0.05)
        return {"connections": len(socks)}
    finally:
        selector.close()
        for sock in socks:
            sock.close()
