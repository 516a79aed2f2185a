from __future__ import annotations

import io
import json
import os
from pathlib import Path

from rotator.audit import make_audit_logger
from rotator.config import AuditConfig
from rotator.values import REDACTED, Fingerprints, SecretValue


def logger_to(
    stream: io.StringIO, fingerprints: Fingerprints | None = None, file: Path | None = None
):  # type: ignore[no-untyped-def]
    kwargs = {"fingerprints": fingerprints} if fingerprints is not None else {}
    return make_audit_logger(
        AuditConfig(stdout=True, file=file), instance="test-1", stream=stream, **kwargs
    )


def test_every_event_has_the_common_fields_in_json() -> None:
    stream = io.StringIO()
    log, _ = logger_to(stream)
    log.info("rotation.started", secret="web")
    event = json.loads(stream.getvalue())
    assert list(event)[:4] == ["timestamp", "level", "event", "instance"]
    assert event["event"] == "rotation.started"
    assert event["level"] == "info"
    assert event["instance"] == "test-1"
    assert event["timestamp"].endswith("Z")
    assert event["secret"] == "web"


def test_fields_that_mean_a_value_are_masked_whatever_they_hold() -> None:
    stream = io.StringIO()
    log, _ = logger_to(stream, Fingerprints())
    log.info(
        "x",
        value="hunter2-abc",
        token="s.123456",
        nested={"password": "pw-123456"},
        secret="web-session",
    )
    event = json.loads(stream.getvalue())
    assert event["value"] == REDACTED
    assert event["token"] == REDACTED
    assert event["nested"] == {"password": REDACTED}
    assert event["secret"] == "web-session"


def test_known_values_are_masked_whole_and_inside_error_text() -> None:
    fingerprints = Fingerprints()
    known = "Zq3-known-value-9"
    fingerprints.remember(known)
    stream = io.StringIO()
    log, _ = logger_to(stream, fingerprints)
    log.error(
        "rotation.failed",
        kid=known,
        error=f"Vault said: bad body {{'current': '{known}'}}",
        items=[known, "fine"],
    )
    text = stream.getvalue()
    assert known not in text
    event = json.loads(text)
    assert event["kid"] == REDACTED
    assert event["error"] == f"Vault said: bad body {{'current': '{REDACTED}'}}"
    assert event["items"] == [REDACTED, "fine"]


def test_every_secret_value_leaves_a_fingerprint_and_no_text() -> None:
    value = SecretValue("a-freshly-generated-value")
    stream = io.StringIO()
    log, _ = logger_to(stream)
    log.info("oops", detail=f"got {value.reveal()}", obj=value)
    text = stream.getvalue()
    assert "a-freshly-generated-value" not in text
    assert repr(value) == "SecretValue('**********')"
    assert f"{value}" == "SecretValue('**********')"


def test_fingerprints_expire() -> None:
    now = [0.0]
    fingerprints = Fingerprints(ttl_seconds=10, clock=lambda: now[0])
    fingerprints.remember("short-lived-value")
    assert "short-lived-value" in fingerprints
    now[0] = 11.0
    assert fingerprints.scrub("x short-lived-value y") == "x short-lived-value y"
    assert "short-lived-value" not in fingerprints


def test_the_audit_file_is_appended_and_followed_across_logrotate(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "rotator.jsonl"
    log, writer = make_audit_logger(AuditConfig(stdout=False, file=path), instance="i")
    log.info("one")
    os.rename(path, tmp_path / "audit" / "rotator.jsonl.1")  # what logrotate does
    log.info("two")
    writer.close()
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["two"]
    rotated = (tmp_path / "audit" / "rotator.jsonl.1").read_text().splitlines()
    assert [json.loads(line)["event"] for line in rotated] == ["one"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_events_render_for_people_unless_json_is_forced() -> None:
    screen = Terminal()
    log, _ = make_audit_logger(AuditConfig(stdout=True, format="auto"), instance="i", stream=screen)
    log.info("rotation.succeeded", secret="web", version=3)
    line = screen.getvalue()
    assert "rotation.succeeded" in line
    assert "secret=web" in line
    assert not line.startswith("{")
    forced = Terminal()
    log, _ = make_audit_logger(AuditConfig(stdout=True, format="json"), instance="i", stream=forced)
    log.info("rotation.succeeded", secret="web")
    assert json.loads(forced.getvalue())["secret"] == "web"


def test_with_an_audit_file_the_terminal_gets_json_too(tmp_path: Path) -> None:
    screen = Terminal()
    log, writer = make_audit_logger(
        AuditConfig(stdout=True, file=tmp_path / "a.jsonl"), instance="i", stream=screen
    )
    log.info("x", secret="web")
    writer.close()
    assert json.loads(screen.getvalue())["event"] == "x"
    assert json.loads((tmp_path / "a.jsonl").read_text())["event"] == "x"
