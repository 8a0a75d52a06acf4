"""A Streamlit client at the protocol level: what a browser tab sends and receives, without a browser.

One `Tab` is one browser tab. Like the frontend it GETs the page and /_stcore/health (which sets the
`_streamlit_xsrf` cookie), opens the websocket /_stcore/stream with the subprotocols
["streamlit", <xsrf token>] and the tab's cookies (the app's `stride_session` login cookie among
them), and sends `BackMsg.rerun_script` (query string, page script hash or page name, widget states,
the fragment id when the widget lives in an st.fragment). It reads the `ForwardMsg` stream into an
element tree keyed by delta path, the way the frontend does: a full run replaces the tree, a fragment
run replaces only that fragment's elements.

Widgets are found by their key (Streamlit's element id ends in the user key) or their label, never by
a hard-coded id, and a widget's rerun carries the fragment id its delta came with, so the client does
not care which parts of a page are fragments. Widget states sent: every value this tab has set on a
widget still drawn (the frontend also sends the defaults of untouched widgets; the server keeps those
itself, so the script sees the same values).

Differences from a browser, on purpose: no ForwardMsg cache (`cached_message_hashes` stays empty, so
the server sends every message in full) and no timer-driven fragment reruns (`auto_rerun`, Stride's
30-second idle check) while a step is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect

XSRF_COOKIE = "_streamlit_xsrf"
STEP_TIMEOUT_S = 120.0
# ScriptFinishedStatus values that end what a BackMsg asked for (a rerun requested by st.rerun()
# finishes "early" and is followed by the run that counts).
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
MAIN, SIDEBAR = 0, 1  # the first number of a delta path: the root container
_REFRESH = re.compile(r'http-equiv="refresh" content="0;url=([^"]+)"')


class ProtocolError(Exception):
    """The server answered in a way a browser would show as broken (HTTP error, closed socket, timeout)."""


@dataclass
class Node:
    """One element of the page as the frontend holds it."""

    element: Element
    fragment_id: str
    run: str  # the script run that drew it last (ForwardMsg metadata)

    @property
    def kind(self) -> str:
        return str(self.element.WhichOneof("type"))

    @property
    def proto(self) -> Any:
        return getattr(self.element, self.kind)

    @property
    def widget_id(self) -> str:
        return str(getattr(self.proto, "id", "") or "")

    @property
    def key(self) -> str | None:
        """The widget's user key (Streamlit ids read "$$ID-<hash>-<key>"), None for an unkeyed one."""
        if not self.widget_id.startswith("$$ID-"):
            return None
        key = self.widget_id.split("-", maxsplit=2)[-1]
        return None if key == "None" else key

    @property
    def label(self) -> str:
        return str(getattr(self.proto, "label", "") or "")

    @property
    def text(self) -> str:
        """What the element says: a markdown body, an alert's body, a heading, a widget's label."""
        proto = self.proto
        return str(getattr(proto, "body", "") or getattr(proto, "label", "") or "")


@dataclass
class Step:
    """What one interaction cost: wall time to the end of its script run(s), and what came back."""

    name: str
    wall_s: float = 0.0
    first_byte_s: float | None = None  # until the first ForwardMsg answering it
    runs: int = 0
    errors: list[str] = field(default_factory=list)
    started_at: float = 0.0  # time.time(), to match the server's run log
    ended_at: float = 0.0


class Tab:
    """One browser tab: cookies, one websocket session at a time, the page's element tree."""

    def __init__(
        self, base_url: str, *, timeout_s: float = STEP_TIMEOUT_S, ca_file: Path | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # Behind the proxy: HTTPS trusting exactly the stack's test certificate (never unverified).
        self.tls = ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else None
        self.cookies: dict[str, str] = {}
        self.path = "/"
        self.query_string = ""
        self.session_id = ""
        self.session_ids: list[str] = []  # every Streamlit session this tab has had (a login makes two)
        self.page_hash = ""
        self.main_hash = ""
        self.pages: dict[str, str] = {}  # url path ("visit") or title -> page script hash
        self.nodes: dict[tuple[int, ...], Node] = {}
        self.widget_values: dict[str, WidgetState] = {}
        self.errors: list[str] = []  # protocol-level and page errors seen since the step began
        self.responses: dict[str, Any] = {}  # backend operation responses by request id
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self._last_status: int | None = None
        self._first_byte: float | None = None
        self._runs = 0
        self._run_id = ""
        self._closing = False
        self._answers = asyncio.Event()

    # --- HTTP -------------------------------------------------------------------------------------

    def _http(self, path: str, *, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
        """GET a path on the app with the tab's cookies (no proxy: loopback only)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        handlers: list[Any] = [urllib.request.ProxyHandler({})]
        if self.tls is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.tls))
        if not follow:
            handlers.append(NoRedirect())
        opener = urllib.request.build_opener(*handlers)
        request = urllib.request.Request(urljoin(self.base_url + "/", path.lstrip("/")))
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        for raw in headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in raw.lower() or "expires=thu, 01 jan 1970" in raw.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return status, {k.lower(): v for k, v in headers.items()}, body

    async def get(self, path: str, *, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
        """The HTTP GET of `_http`, off the event loop."""
        return await asyncio.to_thread(self._http, path, follow=follow)

    # --- websocket session ------------------------------------------------------------------------

    async def open(self, path: str = "/") -> Step:
        """Load a page as a browser does: the HTML, the health check, the websocket and the first run."""
        step = self._begin("page load")
        parts = urlsplit(path)
        self.path, self.query_string = parts.path or "/", parts.query
        for resource in (path, "/_stcore/health", "/_stcore/host-config"):
            status, _, _ = await self.get(resource)
            if status != 200:
                self.errors.append(f"HTTP {status} for {resource.split('?')[0]}")
        await self.close()
        self._closing = False
        ws_url = "ws" + self.base_url.removeprefix("http") + "/_stcore/stream"
        protocols: list[Any] = ["streamlit", self.cookies.get(XSRF_COOKIE, "")]
        try:
            self._ws = await connect(
                ws_url,
                subprotocols=protocols,
                origin=self.base_url,  # type: ignore[arg-type]
                additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())},
                proxy=None,
                ssl=self.tls,
                max_size=None,
                compression=None,
                open_timeout=self.timeout_s,
            )
        except Exception as exc:
            raise ProtocolError(f"websocket refused: {type(exc).__name__}: {exc}") from exc
        self.nodes.clear()
        self.widget_values.clear()
        self.page_hash = ""
        self._reader = asyncio.create_task(self._read())
        page_name = self.path.strip("/")
        await self._rerun(step, page_name=page_name)
        return self._end(step)

    async def close(self) -> None:
        """Close the tab's websocket (the browser's tab closing or navigating away)."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw if isinstance(raw, bytes) else raw.encode())
                self._handle(msg)
        except Exception as exc:  # the server closed or broke the socket: a user would see it
            self.errors.append(f"websocket: {type(exc).__name__}")
        else:
            if not self._closing:
                self.errors.append("websocket closed by the server")
        self._finished.set()
        self._answers.set()

    def _handle(self, msg: ForwardMsg) -> None:
        if self._first_byte is None:
            self._first_byte = time.perf_counter()
        which = msg.WhichOneof("type")
        self._run_id = msg.metadata.run.script_run_id or self._run_id
        if which == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
            if self.session_id and self.session_id not in self.session_ids:
                self.session_ids.append(self.session_id)
            self.main_hash = msg.new_session.main_script_hash
            self.page_hash = msg.new_session.page_script_hash
        elif which == "navigation":
            # By address ("visit"), and by title for the default page, whose address is "".
            self.pages = {p.page_name.lower(): p.page_script_hash for p in msg.navigation.app_pages}
            self.pages.update({p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages})
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif which == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif which == "delta":
            self._delta(msg)
        elif which == "script_finished":
            self._last_status = msg.script_finished
            self._runs += 1
            # What a finished run did not draw again is gone: the whole page after a full run,
            # the fragment's own elements after a fragment run.
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                self.nodes = {p: n for p, n in self.nodes.items() if n.run == self._run_id}
            elif msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                ran = set(msg.metadata.run.fragment_ids)
                self.nodes = {
                    p: n for p, n in self.nodes.items() if n.run == self._run_id or n.fragment_id not in ran
                }
            if (
                msg.script_finished in FINISHED
                or msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR
            ):
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.errors.append("script compile error")
                self._finished.set()
        elif which == "page_not_found":
            self.errors.append("page not found")
        elif which == "backend_operation_response":
            self.responses[msg.backend_operation_response.request_id] = msg.backend_operation_response
            self._answers.set()

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        path = tuple(msg.metadata.delta_path)
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            node = Node(delta.new_element, delta.fragment_id, self._run_id)
            self.nodes[path] = node
            if node.kind == "exception":
                self.errors.append(f"exception element: {node.proto.type}")
            elif node.kind == "alert" and node.proto.format == node.proto.ERROR and path[0] == MAIN:
                # Error alerts in the main area; the sidebar's are the clinic's emergency pins.
                self.errors.append(f"error message: {node.proto.body[:80]}")
        elif kind == "add_block":
            # A block drawn again replaces what was under it.
            for old in [p for p in self.nodes if p[: len(path)] == path]:
                del self.nodes[old]

    # --- what the page shows ----------------------------------------------------------------------

    def elements(self, kind: str | None = None) -> Iterator[Node]:
        """The page's elements in delta-path order, optionally of one kind ("button", "alert")."""
        for path in sorted(self.nodes):
            node = self.nodes[path]
            if kind is None or node.kind == kind:
                yield node

    def widget(self, key: str | None = None, *, label: str | None = None, prefix: str | None = None) -> Node:
        """The widget drawn with this key (or key prefix, or label); ProtocolError if it is not there."""
        for node in self.elements():
            if not node.widget_id:
                continue
            if key is not None and node.key == key:
                return node
            if prefix is not None and (node.key or "").startswith(prefix):
                return node
            if label is not None and key is None and prefix is None and node.label == label:
                return node
        raise ProtocolError(f"no widget {key or prefix or label!r} on the page")

    def has_widget(self, key: str) -> bool:
        return any(node.key == key for node in self.elements())

    def texts(self) -> list[str]:
        """Every text on the page, markdown's backslash escapes undone ("DEMO\\-00004" reads "DEMO-00004")."""
        return [re.sub(r"\\(.)", r"\1", node.text) for node in self.elements() if node.text]

    def shows(self, text: str) -> bool:
        return any(text in t for t in self.texts())

    def refresh_target(self) -> str | None:
        """The address of a <meta http-equiv="refresh"> the page drew (Stride's login claim)."""
        for node in self.elements("markdown"):
            if match := _REFRESH.search(node.proto.body):
                return match.group(1).replace("&amp;", "&")
        return None

    # --- interactions -----------------------------------------------------------------------------

    def set_value(self, node: Node, value: Any) -> None:
        """Remember a widget's new value without a rerun (a field inside st.form, before its submit)."""
        state = WidgetState(id=node.widget_id)
        if node.kind in ("text_input", "text_area", "selectbox", "radio", "date_input"):
            state.string_value = str(value)
        elif node.kind == "number_input":
            state.double_value = float(value)
        elif node.kind in ("checkbox",):
            state.bool_value = bool(value)
        elif node.kind in ("multiselect", "button_group"):
            state.string_array_value.data.extend(str(v) for v in value)
        else:
            raise ProtocolError(f"setting a {node.kind} is not supported")
        self.widget_values[node.widget_id] = state

    async def change(self, name: str, node: Node, value: Any) -> Step:
        """Change a widget's value as a user does (commit on Enter/blur): one rerun of its scope."""
        self.set_value(node, value)
        step = self._begin(name)
        await self._rerun(step, fragment_id=node.fragment_id)
        return self._end(step)

    async def click(self, name: str, node: Node, *, before: BackMsg | None = None) -> Step:
        """Click a button (or a form's submit button): a trigger for one rerun of its scope."""
        step = self._begin(name)
        if before is not None:
            await self._send(before)
        await self._rerun(step, fragment_id=node.fragment_id, trigger=node.widget_id)
        return self._end(step)

    async def go_to(self, url_path: str) -> Step:
        """Click a page in the sidebar navigation: a rerun of that page, the sidebar's widgets kept."""
        step = self._begin(f"open {url_path}")
        page_hash = self.pages.get(url_path)
        if page_hash is None:
            raise ProtocolError(f"no page {url_path!r} in the navigation")
        if page_hash != self.page_hash:
            self.query_string = ""  # the frontend drops the query string on a page change
        sidebar = {n.widget_id for p, n in self.nodes.items() if n.widget_id and p[0] == SIDEBAR}
        self.widget_values = {k: v for k, v in self.widget_values.items() if k in sidebar}
        await self._rerun(step, page_hash=page_hash)
        return self._end(step)

    async def download(self, name: str, node: Node) -> tuple[Step, bytes, dict[str, str]]:
        """Click a download button whose data is made on demand: the server makes the file and the
        tab GETs it from the URL the server answers with; a button that reruns the page reruns it."""
        proto = node.proto
        step = self._begin(name)
        clicked = time.perf_counter()
        rerun: asyncio.Task[None] | None = None
        if proto.deferred_file_id:
            # The request for the file, then the click's rerun. Streamlit 1.67's DownloadButton calls
            # setTriggerValue before requestDeferredFile, yet in Chromium the server starts making the
            # file ~0.5 s before the click's rerun starts (run log, test_load_client_matches_browser);
            # this order reproduces what the server sees. The file is fetched as soon as its address
            # comes back, while the rerun may still run (Streamlit drops an unreferenced file when a
            # run ends).
            request_id = uuid.uuid4().hex
            ask = BackMsg()
            ask.backend_operation_request.request_id = request_id
            ask.backend_operation_request.session_id = self.session_id
            ask.backend_operation_request.deferred_file.file_id = proto.deferred_file_id
            await self._send(ask)
            if not proto.ignore_rerun:
                trigger = node.widget_id
                rerun = asyncio.create_task(self._rerun(step, fragment_id=node.fragment_id, trigger=trigger))
            answer = await self._answer(request_id)
            url = answer.deferred_file.url
            if answer.error_msg or not url:
                step.errors.append(f"deferred download failed: {answer.error_msg}")
        else:
            url = proto.url
        body, headers = b"", dict[str, str]()
        if url:
            status, headers, body = await self.get(url)
            if status != 200:
                step.errors.append(f"HTTP {status} for the download")
        if rerun is not None:
            await rerun
        step.wall_s = time.perf_counter() - clicked  # until the file is in and the page has rerun
        return self._end(step), body, headers

    async def _answer(self, request_id: str) -> Any:
        deadline = time.monotonic() + self.timeout_s
        while request_id not in self.responses:
            self._answers.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._ws is None:
                raise ProtocolError("no answer to the download request")
            try:
                await asyncio.wait_for(self._answers.wait(), remaining)
            except TimeoutError as exc:
                raise ProtocolError("no answer to the download request") from exc
        return self.responses.pop(request_id)

    # --- plumbing ---------------------------------------------------------------------------------

    def _begin(self, name: str) -> Step:
        self.errors = []
        self._first_byte = None
        return Step(name, started_at=time.time())

    def _end(self, step: Step) -> Step:
        step.ended_at = time.time()
        step.errors.extend(self.errors)
        self.errors = []
        return step

    async def _send(self, msg: BackMsg) -> None:
        if self._ws is None:
            raise ProtocolError("the tab has no websocket")
        try:
            await self._ws.send(msg.SerializeToString())
        except Exception as exc:
            raise ProtocolError(f"websocket send failed: {type(exc).__name__}") from exc

    async def _rerun(
        self,
        step: Step,
        *,
        page_hash: str = "",
        page_name: str = "",
        fragment_id: str = "",
        trigger: str | None = None,
    ) -> None:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query_string
        rerun.page_script_hash = page_hash or self.page_hash
        if not rerun.page_script_hash:
            rerun.page_name = page_name
        if fragment_id:
            rerun.fragment_id = fragment_id
        active = {n.widget_id for n in self.nodes.values() if n.widget_id}
        for widget_id, state in self.widget_values.items():
            if widget_id in active or not self.nodes:
                rerun.widget_states.widgets.append(state)
        if trigger is not None:
            rerun.widget_states.widgets.append(WidgetState(id=trigger, trigger_value=True))
        query = f"?{self.query_string}" if self.query_string else ""
        rerun.context_info.url = f"{self.base_url}{self.path}{query}"
        rerun.context_info.timezone = "Europe/London"
        rerun.context_info.locale = "en-GB"
        self._finished.clear()
        started = time.perf_counter()
        runs_before = self._runs
        await self._send(msg)
        try:
            await asyncio.wait_for(self._finished.wait(), self.timeout_s)
        except TimeoutError:
            self.errors.append(f"timeout after {self.timeout_s:.0f} s")
        step.wall_s += time.perf_counter() - started
        if self._first_byte is not None and step.first_byte_s is None:
            step.first_byte_s = self._first_byte - started
        step.runs += self._runs - runs_before
