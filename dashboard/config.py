"""One Settings object, read once from the environment with safe defaults, and passed down."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dashboard.patient_reported import DEFAULT_LIFETIME, DiaryThresholds

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "var" / "stride.sqlite3"


def _from(variable: str, default: Any) -> Any:
    """A setting's default and the STRIDE_* environment variable that overrides it (load_settings)."""
    return field(default=default, metadata={"env": variable})


@dataclass(frozen=True)
class RuleSettings:
    """Clinic-changeable red-flag settings (clinical-reference §3.3, §12.3); part of the rule-set hash."""

    # RF_CES_POSSIBLE is URGENT by default; a clinic may raise it to EMERGENCY [U]
    # (STRIDE_RF_CES_POSSIBLE_EMERGENCY, a yes/no, read by load_settings).
    ces_possible_tier: str = "URGENT"
    # Malignancy age cut-off: > 50 years (Cochrane list, G-care) [U: sources vary 50-60].
    malignancy_age_over_years: int = _from("STRIDE_RF_MALIGNANCY_AGE_OVER", 50)
    # Fracture age cut-off: > 70 years (Henschke 2009 screening set [S]).
    fracture_age_over_years: int = 70
    # failure_to_improve needs at least 28 days of care [U].
    failure_to_improve_days: int = 28
    # RF_PERSISTENT_NO_IMPROVEMENT needs more than 42 days of care [U].
    persistent_no_improvement_days: int = 42
    # RF_WALKING_DECLINE fires on a fall of more than 50 % [U].
    walking_decline_fraction: float = 0.5
    # Walking-diary traffic light by pain during the walk (NRS): green ≤ 3, amber 4–5, red ≥ 6
    # [U: sources vary between 0–3/4–5/6+, 0–3/4–7/8+ and <3/4–6/7+] (§12.3); RF_DIARY_NOT_SETTLING.
    diary_green_max: int = _from("STRIDE_DIARY_GREEN_MAX", 3)
    diary_amber_max: int = _from("STRIDE_DIARY_AMBER_MAX", 5)

    def __post_init__(self) -> None:
        # Impossible diary thresholds stop Stride when the settings are read, never a screening later.
        _ = self.diary_thresholds

    @property
    def diary_thresholds(self) -> DiaryThresholds:
        """The clinic's walking-diary traffic-light thresholds (pain during the walk, NRS 0–10)."""
        return DiaryThresholds(green_max=self.diary_green_max, amber_max=self.diary_amber_max)


@dataclass(frozen=True)
class Settings:
    """Every setting of a Stride deployment; see README, Configuration."""

    database_url: str = field(
        default_factory=lambda: f"sqlite:///{DEFAULT_SQLITE_PATH}", metadata={"env": "STRIDE_DATABASE_URL"}
    )
    clinic_name: str = _from("STRIDE_CLINIC_NAME", "Stride Demo Physiotherapy (fictional)")
    clinic_address: str = _from("STRIDE_CLINIC_ADDRESS", "1 Example Street, Sampletown")
    # Printed on the handout; the default is in Ofcom's drama range (fictional, never answered).
    clinic_phone: str = _from("STRIDE_CLINIC_PHONE", "01632 960 000")
    emergency_number: str = _from("STRIDE_EMERGENCY_NUMBER", "999")
    urgent_advice: str = _from("STRIDE_URGENT_ADVICE", "NHS 111 or your GP")
    emergency_department: str = _from("STRIDE_EMERGENCY_DEPARTMENT", "A&E (the emergency department)")
    timezone: str = _from("STRIDE_TIMEZONE", "Europe/London")
    session_timeout_min: float = _from("STRIDE_SESSION_TIMEOUT_MIN", 15.0)
    # Login throttling (README, Security): failures on one account before its short delays start, the
    # longest delay one client (address) can earn, failures from one client before its delays start, and
    # the cap on an account's delay (kept short: it also delays the account's owner on a new address).
    lockout_attempts: int = _from("STRIDE_LOCKOUT_ATTEMPTS", 5)
    lockout_min: int = _from("STRIDE_LOCKOUT_MIN", 15)
    throttle_client_attempts: int = _from("STRIDE_THROTTLE_CLIENT_ATTEMPTS", 10)
    throttle_account_max_s: int = _from("STRIDE_THROTTLE_ACCOUNT_MAX_S", 30)
    # Behind a reverse proxy Streamlit sees only the proxy: then take the client's address from the last
    # X-Forwarded-For entry, which the proxy must set itself (never enable without such a proxy).
    trust_forwarded_for: bool = _from("STRIDE_TRUST_FORWARDED_FOR", False)
    fhir_codesystem_url: str = _from(
        "STRIDE_FHIR_CODESYSTEM_URL", "https://stride.example.org/fhir/CodeSystem/lbp-measures"
    )
    # The address patients' links start with (check-in, diary): the clinic's public https address in a
    # deployment; links carry only the token (issue 21). Lifetimes of a check-in and a diary link.
    public_url: str = _from("STRIDE_PUBLIC_URL", "http://localhost:8501")
    checkin_link_hours: int = _from(
        "STRIDE_CHECKIN_LINK_HOURS", DEFAULT_LIFETIME["checkin"] // dt.timedelta(hours=1)
    )
    diary_link_days: int = _from("STRIDE_DIARY_LINK_DAYS", DEFAULT_LIFETIME["diary"].days)
    rules: RuleSettings = field(default_factory=RuleSettings)

    @property
    def is_sqlite(self) -> bool:
        """True when the store is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _env_names(kind: type) -> dict[str, str]:
    """Field name -> its environment variable, in declaration order, for the fields that have one."""
    return {f.name: f.metadata["env"] for f in fields(kind) if "env" in f.metadata}


# Setting name -> its environment variable, in the order Settings declares them.
_ENV: dict[str, str] = _env_names(Settings)


def _from_env(kind: type, env: dict[str, str]) -> dict[str, object]:
    """The fields of `kind` whose STRIDE_* variable is set, read as the field's type."""
    values: dict[str, object] = {}
    types = {f.name: f.type for f in fields(kind)}
    for name, var in _env_names(kind).items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        kind_of = types[name]
        if kind_of in (bool, "bool"):
            values[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            continue
        values[name] = (
            int(raw) if kind_of in (int, "int") else float(raw) if kind_of in (float, "float") else raw
        )
    return values


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read Settings from the environment (STRIDE_* variables); unset ones keep safe defaults."""
    env = dict(os.environ if environ is None else environ)
    rules = RuleSettings(
        ces_possible_tier="EMERGENCY"
        if env.get("STRIDE_RF_CES_POSSIBLE_EMERGENCY", "").lower() in {"1", "true", "yes"}
        else "URGENT",
        **_from_env(RuleSettings, env),  # type: ignore[arg-type]
    )
    return Settings(rules=rules, **_from_env(Settings, env))  # type: ignore[arg-type]


def settings_names() -> dict[str, str]:
    """Setting name -> environment variable, for the README's configuration table."""
    return dict(_ENV)
