"""Who may open the dashboard, without a server: the Host/Origin rules of
qlwork.serve.voila_app, the access policy of qlwork.serve.access and the
`qlwork dashboard` options that use them.  The same rules on running servers:
tests/browser/test_dashboard_access.py."""
from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.errors import QlworkError
from qlwork.serve import access
from qlwork.serve.voila_app import host_allowed, host_name, is_loopback, origin_allowed

ROOM = {"192.168.1.20", "meeting-pc"}

# ------------------------------------------------------------------ Host header
@pytest.mark.parametrize("host, expected", [
    ("localhost", "localhost"), ("LOCALHOST:8866", "localhost"), ("127.0.0.1:8866", "127.0.0.1"),
    ("[::1]:8866", "::1"), ("[::1]", "::1"), ("::1", "::1"), ("Meeting-PC.:80", "meeting-pc"),
    ("192.168.1.20", "192.168.1.20"), ("", ""),
])
def test_host_name(host, expected):
    assert host_name(host) == expected


@pytest.mark.parametrize("host, ok", [
    ("localhost:8866", True), ("127.0.0.1:8866", True), ("127.3.4.5", True), ("[::1]:8866", True),
    ("192.168.1.20:8866", True), ("MEETING-PC:8866", True),
    # DNS rebinding: the attacker's own name pointed at this machine
    ("evil.example:8866", False), ("192.168.1.20.evil.example", False), ("localhost.evil.example", False),
    # 0.0.0.0 reaches local services from some browsers ("0.0.0.0 day")
    ("0.0.0.0:8866", False), ("[::]:8866", False),
    ("192.168.1.21", False), ("", False), ("meeting-pc.evil", False),
])
def test_host_allow_list(host, ok):
    assert host_allowed(host, ROOM) is ok


@given(name=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
       port=st.integers(1, 65535), upper=st.booleans())
@settings(max_examples=200, deadline=None)
def test_host_decision_ignores_port_and_case_and_refuses_unknown_names(name, port, upper):
    """A name is allowed exactly when it is listed (or loopback), whatever the
    port and letter case; a name not on the list never passes."""
    shown = name.upper() if upper else name
    listed = name in ROOM or name == "localhost"
    assert host_allowed(f"{shown}:{port}", ROOM) is listed
    assert host_allowed(shown, ROOM) is listed
    assert host_allowed(f"{shown}:{port}", ROOM | {name}) is True


@pytest.mark.parametrize("origin, host, ok", [
    ("http://127.0.0.1:8866", "127.0.0.1:8866", True),
    ("http://192.168.1.20:8866", "192.168.1.20:8866", True),
    ("https://meeting-pc", "meeting-pc", True),
    ("http://evil.example", "127.0.0.1:8866", False),
    ("http://127.0.0.1:3000", "127.0.0.1:8866", False),  # another local service's page
    ("http://evil.example:8866", "evil.example:8866", False),  # rebinding: same origin, but not ours
    ("null", "127.0.0.1:8866", False), ("file://", "127.0.0.1:8866", False),
    ("ws://127.0.0.1:8866", "127.0.0.1:8866", False), ("", "127.0.0.1:8866", False),
])
def test_origin_must_be_this_origin(origin, host, ok):
    assert origin_allowed(origin, host, ROOM) is ok


@pytest.mark.parametrize("bind, loop", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                        ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                        ("192.168.1.20", False), ("meeting-pc", False)])
def test_loopback_bind(bind, loop):
    assert is_loopback(bind) is loop


# ------------------------------------------------------------------ policy
def test_room_hosts():
    assert access.room_hosts("127.0.0.1") == []
    assert access.room_hosts("127.0.0.1", ["Review.Example.org"]) == ["review.example.org"]
    specific = access.room_hosts("192.168.1.20")
    assert specific[0] == "192.168.1.20"
    wild = access.room_hosts("0.0.0.0")
    assert all(":" not in h for h in wild)  # 0.0.0.0 listens on IPv4 only
    assert not any(is_loopback(h) for h in wild)
    for bad in ("http://x", "a/b", "0.0.0.0", "x y"):
        with pytest.raises(QlworkError) as e:
            access.room_hosts("0.0.0.0", [bad])
        assert "--allow-host" in str(e.value)


def test_tokens_and_passwords():
    toks = {access.new_token() for _ in range(50)}
    assert len(toks) == 50 and all(len(t) >= 32 for t in toks)
    assert all(access.check_token(t) == t for t in toks)
    for weak in ("short", "has space in it 12345", "x" * 15, "ä" * 20):
        with pytest.raises(QlworkError):
            access.check_token(weak)
    with pytest.raises(QlworkError) as e:
        access.hash_password("1234567")
    assert "至少" in str(e.value)
    from jupyter_server.auth.security import passwd_check

    h = access.hash_password("会议室密码2026")
    assert h.startswith("argon2:") and "会议室密码2026" not in h
    assert passwd_check(h, "会议室密码2026") and not passwd_check(h, "会议室密码2025")


def test_share_urls_carry_the_token():
    urls = access.share_urls("0.0.0.0", 8866, "voila/render/review.ipynb", "tok-123",
                             ["192.168.1.20", "fd00::2", "meeting-pc"])
    assert urls[0] == "http://192.168.1.20:8866/voila/render/review.ipynb?token=tok-123"
    assert urls[1].startswith("http://[fd00::2]:8866/")
    assert all(parse_qs(urlsplit(u).query) == {"token": ["tok-123"]} for u in urls)
    assert access.share_urls("127.0.0.1", 8866, "voila/render/review.ipynb") == [
        "http://127.0.0.1:8866/voila/render/review.ipynb"]
    assert access.share_urls("localhost", 1, "/x") == ["http://127.0.0.1:1/x"]


def test_qr_code_encodes_the_link():
    import segno

    url = "http://192.168.1.20:8866/voila/render/review.ipynb?token=" + "a" * 32
    text = access.qr_text(url)
    rows = text.rstrip("\n").split("\n")
    assert len(rows) > 10 and len({len(r) for r in rows}) == 1  # a square block, two modules per row
    assert set("".join(rows)) <= set(" █▀▄")
    qr = segno.make(url, error="m")
    n = qr.symbol_size(border=2)[0]
    assert len(rows[0]) == n and len(rows) == (n + 1) // 2
    # the drawing is the symbol's matrix: light modules as blocks (a dark terminal shows them light)
    matrix = [[bool(m) for m in row] for row in qr.matrix_iter(border=2)]
    top = {(False, False): "█", (True, True): " ", (False, True): "▀", (True, False): "▄"}
    for i, row in enumerate(rows[:-1]):
        assert row == "".join(top[(matrix[2 * i][j], matrix[2 * i + 1][j])] for j in range(n))


# ------------------------------------------------------------------ the command
def test_room_gets_a_generated_token_loopback_none(monkeypatch):
    from qlwork.serve.launch import access_for

    monkeypatch.delenv(access.ENV_TOKEN, raising=False)
    monkeypatch.delenv(access.ENV_PASSWORD, raising=False)
    token, hashed, hosts = access_for("0.0.0.0")
    assert len(token) >= 32 and hashed == "" and hosts
    assert access_for("127.0.0.1") == ("", "", [])
    token2, _, _ = access_for("127.0.0.1", login=True)
    assert token2 and token2 != token
    monkeypatch.setenv(access.ENV_TOKEN, "fixed-token-for-the-room")
    assert access_for("0.0.0.0")[0] == "fixed-token-for-the-room"
    monkeypatch.setenv(access.ENV_TOKEN, "weak")
    with pytest.raises(QlworkError):
        access_for("0.0.0.0")
    monkeypatch.delenv(access.ENV_TOKEN)
    monkeypatch.setenv(access.ENV_PASSWORD, "会议室密码2026")
    token3, hashed3, _ = access_for("0.0.0.0", password=True)
    assert token3 == "" and hashed3.startswith("argon2:")  # a password alone is a login


def test_command_line_never_carries_secrets(monkeypatch):
    from qlwork.serve.launch import SERVER_SCRIPT, check_extra_options, voila_command

    cmd = voila_command("0.0.0.0", 8866, allowed_hosts=["192.168.1.20"], pool=6)
    assert cmd[1] == "-c" and repr(str(SERVER_SCRIPT)) in cmd[2]  # the gated server, not plain Voilà
    assert "--QlworkVoila.allowed_hosts=192.168.1.20" in cmd
    assert "--VoilaConfiguration.default_pool_size=6" in cmd
    assert not any("token" in c.lower() or "password" in c.lower() for c in cmd)
    for bad in (["--Voila.token=x"], ["--QlworkVoila.allowed_hosts=evil.example"],
                ["--Voila.tornado_settings={'disable_check_xsrf':True}"],
                ["--PasswordIdentityProvider.hashed_password=x"], ["--Voila.allow_origin=*"],
                ["--VoilaConfiguration.multi_kernel_manager_class=x.Y"]):
        with pytest.raises(QlworkError):
            check_extra_options(bad)
    assert check_extra_options(["--VoilaConfiguration.default_pool_size=4",
                                "--DashboardKernelManager.connect_grace=120"])


def test_server_refuses_a_room_without_login(tmp_path):
    """The server itself (not only the command) will not listen on a
    non-loopback address with neither token nor password."""
    from qlwork.serve.launch import SERVER_SCRIPT, dashboards_dir

    env = {k: v for k, v in __import__("os").environ.items()
           if k not in (access.ENV_TOKEN, access.ENV_PASSWORD_HASH)}
    r = subprocess.run([sys.executable, str(SERVER_SCRIPT), ".", "--no-browser", "--Voila.ip=0.0.0.0",
                        "--port=1", "--VoilaConfiguration.preheat_kernel=False"],
                       cwd=dashboards_dir(), env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "拒绝启动" in r.stderr and "without a token or password" in r.stderr
