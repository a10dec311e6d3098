"""The sharing forms: the application wizard's fields and the decider's answer, as posted by
a browser, converted to an ``ApplicationInput`` or a ``Decision``.

Values are kept as raw strings too, so that a refused form is shown again as typed.
Unreadable values (a malformed date or number) raise ValidationFailed naming the field, like
the services' own refusals, so the page shows them next to that field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.datastructures import FormData, UploadFile

from govshare.kernel.errors import ValidationFailed
from govshare.sharing.model import (
    DEFAULT_QUOTA_PER_DAY,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    Application,
    ApplicationInput,
    Masking,
    Purpose,
)
from govshare.sharing.services import Decision, Limits

WIZARD_TEXT = (
    "department_id",
    "resource_id",
    "purpose",
    "scenario",
    "legal_basis",
    "client_system_id",
    "valid_until",
    "batch_justification",
    "controlled_parameters",
    "renews_grant_id",
    "reason",
)


def _date(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed(
            "请填写有效日期（年-月-日）",
            "enter a valid date (YYYY-MM-DD)",
            code="form_date",
            field=name,
        ) from None


def _positive_int(raw: str, name: str, default: int) -> int:
    text = raw.strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValidationFailed(
            "调用限额须为正整数",
            "limits must be positive whole numbers",
            code="form_int",
            field=name,
        )
    return int(text)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _list(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


@dataclass
class WizardForm:
    """The application wizard as posted: raw values, chosen items and modes, and files."""

    values: dict[str, str] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    files: list[UploadFile] = field(default_factory=list)
    action: str = "submit"

    @classmethod
    def read(cls, form: FormData) -> WizardForm:
        files = [
            f
            for f in form.getlist("files")
            if isinstance(f, UploadFile) and (f.filename or "").strip()
        ]
        return cls(
            values={k: _text(form, k).strip() for k in WIZARD_TEXT},
            items=_list(form, "items"),
            modes=_list(form, "modes"),
            files=files,
            action=_text(form, "action") or "submit",
        )

    def application(self) -> ApplicationInput:
        v = self.values
        try:
            purpose = Purpose(v["purpose"])
        except ValueError:
            raise ValidationFailed(
                "请选择用途", "choose the purpose", code="form_purpose", field="purpose"
            ) from None
        if not v["valid_until"]:
            raise ValidationFailed(
                "请填写有效期", "state the validity", code="form_date", field="valid_until"
            )
        return ApplicationInput(
            consumer_department_id=v["department_id"],
            resource_id=v["resource_id"],
            items=tuple(self.items),
            modes=tuple(self.modes),
            purpose=purpose,
            scenario=v["scenario"],
            legal_basis=v["legal_basis"],
            valid_until=_date(v["valid_until"], "valid_until"),
            client_system_id=v["client_system_id"] or None,
            batch_justification=v["batch_justification"],
            renews_grant_id=v["renews_grant_id"] or None,
            controlled_parameters=v["controlled_parameters"],
        )


def posted(form: FormData) -> dict[str, Any]:
    """Every text value of a form, and lists where a name repeats (to show it again)."""
    out: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 or key in ("items", "modes") else "".join(values)
    return out


def decision_from_form(form: FormData, app: Application, *, approve: bool) -> Decision:
    """The decider's answer: as asked, or narrowed (items, modes, validity), with a masking
    level per item (masked unless chosen otherwise), limits and the security agreement; or a
    refusal with its reasons, basis and kind of basis."""
    reason = _text(form, "reason").strip()
    basis = _text(form, "basis").strip()
    if not approve:
        return Decision(
            approve=False, reason=reason, basis=basis, basis_type=_text(form, "basis_type")
        )
    chosen = set(_list(form, "items"))
    items = tuple(c for c in app.items if c in chosen)
    modes_chosen = set(_list(form, "modes"))
    modes = tuple(m for m in app.modes if m in modes_chosen)
    until_raw = _text(form, "valid_until").strip()
    until = _date(until_raw, "valid_until") if until_raw else None
    masking = {c: _text(form, f"mask-{c}") or Masking.MASKED.value for c in items}
    rate_raw, quota_raw = _text(form, "rate_limit_per_minute"), _text(form, "quota_per_day")
    limits = None
    if rate_raw.strip() or quota_raw.strip():
        limits = Limits(
            _positive_int(rate_raw, "limits", DEFAULT_RATE_LIMIT_PER_MINUTE),
            _positive_int(quota_raw, "limits", DEFAULT_QUOTA_PER_DAY),
        )
    agreement = {"yes": True, "no": False}.get(_text(form, "security_agreement"))
    params = form.get("controlled_parameters")
    return Decision(
        approve=True,
        reason=reason,
        basis=basis,
        items=None if set(items) == set(app.items) else items,
        modes=None if set(modes) == set(app.modes) else modes,
        valid_until=until if until != app.valid_until else None,
        raw_items=tuple(c for c, m in masking.items() if m == Masking.RAW.value),
        pseudonym_items=tuple(c for c, m in masking.items() if m == Masking.PSEUDONYM.value),
        suppressed_items=tuple(c for c, m in masking.items() if m == Masking.SUPPRESSED.value),
        limits=limits,
        security_agreement=agreement,
        controlled_parameters=params.strip() if isinstance(params, str) else None,
    )
