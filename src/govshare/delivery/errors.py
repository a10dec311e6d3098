"""The refusals of the data services, one stable code each (documented in the OpenAPI
document of the delivery endpoints). No message ever carries a requested key or value."""

from __future__ import annotations

from datetime import date
from typing import Any

from govshare.kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)


class Gone(DomainError):
    """The resource was retired and its transition has ended (SZ-27)."""

    status = 410
    code = "resource_retired"


def grant_not_found() -> DomainError:
    return NotFound("授权不存在", "no such grant", code="grant_not_found")


def grant_not_yours() -> DomainError:
    return Forbidden(
        "该授权不属于本部门", "the grant belongs to another department", code="grant_not_yours"
    )


def grant_wrong_client() -> DomainError:
    return Forbidden(
        "该授权限定由其他业务系统使用",
        "the grant is for another client system of the department",
        code="grant_wrong_client",
    )


_STATUS = {
    "pending_agreement": (
        "授权待签署安全协议，尚未生效",
        "the grant waits for its signed security agreement",
    ),
    "suspended": ("授权已暂停", "the grant is suspended"),
    "revoked": ("授权已撤销", "the grant is revoked"),
    "expired": ("授权已过期", "the grant has expired"),
}


def grant_status(status: str) -> DomainError:
    zh, en = _STATUS.get(status, ("授权不可用", "the grant is not active"))
    code = f"grant_{status}" if status in _STATUS else "grant_inactive"
    return Forbidden(zh, en, code=code)


def grant_expired(valid_until: date) -> DomainError:
    return Forbidden(
        f"授权有效期已于{valid_until.isoformat()}届满",
        f"the grant was valid until {valid_until.isoformat()}",
        code="grant_expired",
    )


def resource_retired(cut_off: date | None, replacement: str | None) -> DomainError:
    extra: dict[str, Any] = {"replacement": replacement}
    if cut_off is not None:
        extra["cut_off"] = cut_off.isoformat()
    ends = f"，过渡期已于{cut_off.isoformat()}结束" if cut_off else ""
    ends_en = f"; its transition ended on {cut_off.isoformat()}" if cut_off else ""
    if replacement:
        return Gone(
            f"该资源已下线{ends}，请改用替代资源 {replacement}",
            f"the resource is retired{ends_en}; use its replacement {replacement}",
            extra=extra,
        )
    return Gone(
        f"该资源已下线{ends}",
        f"the resource is retired{ends_en}; it has no replacement",
        extra=extra,
    )


def mode_not_granted(mode: str) -> DomainError:
    return Forbidden(
        f"授权不含该共享方式（{mode}）",
        f"the grant does not include the delivery mode '{mode}'",
        code="mode_not_granted",
        extra={"mode": mode},
    )


def item_not_granted(codes: list[str]) -> DomainError:
    return Forbidden(
        f"授权不含信息项：{'、'.join(codes)}",
        f"data items not granted: {', '.join(codes)}",
        code="item_not_granted",
        extra={"items": codes},
    )


def header_required(header: str, code: str, zh: str) -> DomainError:
    return ValidationFailed(
        f"请求头 {header} 必填：{zh}",
        f"the {header} header is required",
        code=code,
        field=header,
    )


def purpose_mismatch(granted: str) -> DomainError:
    return Forbidden(
        f"用途与授权用途（{granted}）不一致，数据只能用于申请时的用途",
        f"the purpose differs from the granted purpose '{granted}': data is used only "
        "for the purpose it was granted for",
        code="purpose_mismatch",
        field="X-Purpose",
        extra={"granted_purpose": granted},
    )


def rate_limited(limit: int, retry_after: int, *, code: str = "rate_limited") -> DomainError:
    return TooManyRequests(
        f"调用过于频繁：每分钟最多{limit}次，请{retry_after}秒后重试",
        f"too many calls: at most {limit} per minute; retry in {retry_after} s",
        code=code,
        extra={"limit_per_minute": limit, "retry_after": retry_after},
    )


def quota_exceeded(quota: int) -> DomainError:
    return TooManyRequests(
        f"今日调用次数已达上限（{quota}次）",
        f"the daily quota of {quota} calls is used up",
        code="quota_exceeded",
        extra={"quota_per_day": quota},
    )


def verify_attempts_exceeded(limit: int) -> DomainError:
    return TooManyRequests(
        f"同一对象今日核验次数已达上限（{limit}次），核验不能用于逐值试探",
        f"this subject was verified {limit} times today: verification cannot be used "
        "to guess values",
        code="verify_attempts_exceeded",
        extra={"limit_per_day": limit},
    )


def key_required() -> DomainError:
    return ValidationFailed("请提供查询键", "the key is required", code="key_required", field="key")


def key_invalid() -> DomainError:
    return ValidationFailed(
        "查询键过长或含有非法字符",
        "the key is too long or malformed",
        code="key_invalid",
        field="key",
    )


def no_pool() -> DomainError:
    return Conflict(
        "该资源尚无汇聚数据，暂不能提供查询",
        "the resource has no data pool yet",
        code="delivery_no_data",
    )


def not_keyed() -> DomainError:
    return Conflict(
        "该资源没有标识类信息项（身份证号、统一社会信用代码等），不支持按键查询或核验",
        "the resource has no identifier item (ID number, USCC, ...): it cannot be looked "
        "up or verified by key",
        code="delivery_not_keyed",
    )


def claims_required() -> DomainError:
    return ValidationFailed(
        "请至少提供一个待核验的信息项",
        "give at least one claimed item",
        code="claims_required",
        field="claims",
    )


def claims_invalid() -> DomainError:
    return ValidationFailed(
        "待核验的信息项过多或取值过长",
        "too many claimed items, or a claimed value is too long",
        code="claims_invalid",
        field="claims",
    )
