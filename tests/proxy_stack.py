"""Stride as deployed: real nginx (docs/nginx/stride.conf) in front of app processes on one database.

`start_stack(workdir, database_url)` makes a self-signed certificate for 127.0.0.1 (openssl), one
`server.cookieSecret` for all processes (random, generated here, never written to the repository),
starts the app processes (`streamlit run server.py`, as tests/browser/test_two_servers.py does) and
Debian's nginx as a child process with its pid file, logs and temp folders under `workdir`, all on
free loopback ports. The nginx site is docs/nginx/stride.conf with its @@NAME@@ placeholders filled:
the very file docs/deployment.md shows. Used by the browser tests (tests/browser/test_proxy*.py)
and by load benchmarks; outside pytest a start-up failure raises (pytest's Failed, or RuntimeError).

Which process served a request is read where an operator would read it: nginx's access log, whose
`upstream=` field names the process. `route_to(i)` finds a route cookie that nginx sends to process i.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser.conftest import AppServer, free_port
from tests.conftest import ROOT

SITE_TEMPLATE = ROOT / "docs" / "nginx" / "stride.conf"
NGINX = "/usr/sbin/nginx"
ROUTE_COOKIE = "stride_route"
PROBE_PATH = "/_stride/route-probe/"
START_TIMEOUT_S = 30.0
_UPSTREAM = re.compile(r" upstream=(.+?) upstream_status=")

# The main configuration nginx needs around the site file: everything it writes stays in the work
# folder, so a test needs no system paths (Debian's /etc/nginx/nginx.conf is not read at all).
MAIN_CONF = """\
{user}worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    include {work}/stride.conf;
}}
"""


def nginx_path() -> str | None:
    """Debian's nginx binary, or None when it is not installed (scripts/ensure-system-packages)."""
    return NGINX if os.access(NGINX, os.X_OK) else shutil.which("nginx")


def render_site(values: dict[str, str], template: Path = SITE_TEMPLATE) -> str:
    """docs/nginx/stride.conf with every @@NAME@@ replaced; an unknown or unfilled name is an error."""
    text = template.read_text(encoding="utf-8")
    names = set(re.findall(r"@@([A-Z_]+)@@", text))
    if names != set(values):
        raise ValueError(f"placeholders {sorted(names)} but values for {sorted(values)}")
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    return text


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (one day), made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    cmd += ["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    cmd += ["-keyout", str(key), "-out", str(cert)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl could not make the test certificate:\n{result.stderr}")
    key.chmod(0o600)
    return cert, key


@dataclass
class Stack:
    """nginx on `url` (HTTPS) and `http_url` (redirects), in front of the app processes."""

    url: str
    http_url: str
    apps: list[AppServer]
    nginx: subprocess.Popen[bytes]
    workdir: Path
    certificate: Path
    access_log: Path
    error_log: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def app_urls(self) -> list[str]:
        """Each app process's own base URL (plain HTTP on loopback, behind nginx)."""
        return [app.url for app in self.apps]

    @property
    def app_pids(self) -> list[int]:
        """Each app process's PID, in the order of `app_urls`."""
        return [app.process.pid for app in self.apps]

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts exactly this stack's test certificate."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def fetch(
        self, path: str, *, cookie: str = "", method: str = "GET", data: bytes | None = None
    ) -> tuple[int, dict[str, list[str]], bytes]:
        """One HTTPS request through nginx: status, headers (every value of each, lower-case names), body."""
        request = urllib.request.Request(self.url + path, method=method, data=data)
        if cookie:
            request.add_header("Cookie", cookie)
        # No proxy from the environment (loopback only) and no redirect following.
        handlers = [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context())]
        opener = urllib.request.build_opener(*handlers, _NoRedirect())
        try:
            with opener.open(request, timeout=60) as response:
                status, message, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, message, body = error.code, error.headers, error.read()
        headers: dict[str, list[str]] = {}
        for name, value in message.items():
            headers.setdefault(name.lower(), []).append(value)
        return status, headers, body

    def access_lines(self) -> list[str]:
        """nginx's access log so far, one entry a line."""
        return self.access_log.read_text(errors="replace").splitlines() if self.access_log.exists() else []

    def upstream_of(self, route: str) -> int:
        """Which app process (index into `apps`) nginx sends a browser with this route cookie to."""
        marker = uuid.uuid4().hex
        self.fetch(PROBE_PATH + marker, cookie=f"{ROUTE_COOKIE}={route}")
        return self.upstream_of_request(marker)

    def upstream_of_request(self, path_part: str, timeout_s: float = 10.0) -> int:
        """The app process that served the newest logged request whose path contains `path_part`.

        nginx writes the log line just after the response, so it may appear a moment later.
        """
        ports = [str(app.port) for app in self.apps]
        deadline = time.monotonic() + timeout_s
        while True:
            for line in reversed(self.access_lines()):
                if path_part in line and (found := _UPSTREAM.search(line)):
                    address = found.group(1).split(",")[-1].strip()  # after a retry: the one that answered
                    return ports.index(address.rsplit(":", 1)[-1])
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx logged no upstream for a request to {path_part!r}")
            time.sleep(0.05)

    def requests_per_process(self, path_part: str) -> list[int]:
        """How many logged requests whose path contains `path_part` each app process answered."""
        ports = [str(app.port) for app in self.apps]
        counts = [0] * len(ports)
        for line in self.access_lines():
            if path_part in line and (found := _UPSTREAM.search(line)):
                port = found.group(1).split(",")[-1].strip().rsplit(":", 1)[-1]
                if port in ports:
                    counts[ports.index(port)] += 1
        return counts

    def route_to(self, index: int, tries: int = 64) -> str:
        """A route cookie value that nginx's consistent hash sends to app process `index`."""
        for _ in range(tries):
            route = secrets.token_hex(16)
            if self.upstream_of(route) == index:
                return route
        raise AssertionError(f"no route to process {index} in {tries} tries")

    def stop(self) -> None:
        """Stop nginx, then the app processes (by their own PIDs)."""
        if self._stopped:
            return
        self._stopped = True
        if self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)
        for app in self.apps:
            app.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen on {port} after {START_TIMEOUT_S:.0f} s")


def start_stack(
    workdir: Path,
    database_url: str,
    processes: int = 2,
    *,
    https_port: int | None = None,
    http_port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """Start `processes` app processes on `database_url` behind nginx; the caller calls `.stop()`."""
    exe = nginx_path()
    if exe is None:
        raise FileNotFoundError("nginx is missing: run scripts/ensure-system-packages")
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    https_port = https_port or free_port()
    http_port = http_port or free_port()
    url = f"https://127.0.0.1:{https_port}"
    env = {
        # One secret for every process, made for this stack only: Streamlit signs its cookies with it.
        "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),
        "STRIDE_PUBLIC_URL": url,
        "STRIDE_TRUST_FORWARDED_FOR": "true",
        **(extra_env or {}),
    }

    def start_app(i: int) -> AppServer:
        return AppServer(database_url, workdir / f"app-{i}.log", extra_env=env)

    with ThreadPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(start_app, i) for i in range(processes)]
        apps: list[AppServer] = []
        failure: BaseException | None = None
        for future in futures:
            try:
                apps.append(future.result())
            except BaseException as exc:  # stop the others before re-raising
                failure = failure or exc
    if failure is not None:
        for app in apps:
            app.stop()
        raise failure

    try:
        return _start_nginx(exe, workdir, apps, url, https_port, http_port)
    except BaseException:
        for app in apps:
            app.stop()
        raise


def _start_nginx(
    exe: str, workdir: Path, apps: list[AppServer], url: str, https_port: int, http_port: int
) -> Stack:
    """Fill the site template, check it with `nginx -t`, run nginx until it listens."""
    cert, key = make_certificate(workdir)
    access_log, error_log = workdir / "access.log", workdir / "error.log"
    site = render_site(
        {
            "UPSTREAM_SERVERS": "\n    ".join(f"server 127.0.0.1:{app.port} max_fails=0;" for app in apps),
            "LISTEN_ADDRESS": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            "HTTPS_PORT": str(https_port),
            "SERVER_NAME": "127.0.0.1",
            "CERTIFICATE": str(cert),
            "CERTIFICATE_KEY": str(key),
            "ACCESS_LOG": str(access_log),
            "ERROR_LOG": str(error_log),
        }
    )
    (workdir / "stride.conf").write_text(site, encoding="utf-8")
    # Workers of a root master drop to `nobody`, who cannot enter pytest's 0700 temp folders.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = workdir / "nginx.conf"
    main.write_text(MAIN_CONF.format(user=user, work=workdir), encoding="utf-8")
    base = [exe, "-p", str(workdir), "-c", str(main), "-e", str(workdir / "nginx-error.log")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=60, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}")
    nginx_log = workdir / "nginx.out"
    with open(nginx_log, "wb") as out:
        process = subprocess.Popen(
            [*base, "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_port(https_port, process, nginx_log)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return Stack(url, f"http://127.0.0.1:{http_port}", apps, process, workdir, cert, access_log, error_log)
