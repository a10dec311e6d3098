from __future__ import annotations

from govshare.kernel.errors import Unauthenticated


class LoginFailed(Unauthenticated):
    code = "login_failed"

    def __init__(self) -> None:
        super().__init__("用户名或密码错误", "wrong username or password")


class AccountLocked(Unauthenticated):
    code = "account_locked"

    def __init__(self, minutes: int) -> None:
        super().__init__(
            f"连续登录失败次数过多，账号已锁定，请{minutes}分钟后再试",
            f"too many failed sign-ins; the account is locked, try again in {minutes} minutes",
        )


class ClientAuthFailed(Unauthenticated):
    code = "invalid_client"

    def __init__(self) -> None:
        super().__init__("客户端凭证无效或已吊销", "the client credentials are invalid or revoked")


class ClientRevoked(Unauthenticated):
    """A verified token of a client system that is revoked or gone (checked per call)."""

    code = "client_revoked"

    def __init__(self) -> None:
        super().__init__("业务系统凭证已吊销或不存在", "the client system is revoked or unknown")
