//! The one place error JSON is shaped (`spec/errors.md`).

use std::borrow::Cow;

use actix_web::http::header::HeaderName;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;

pub const X_RETRY_AFTER: HeaderName = HeaderName::from_static("x-retry-after");

/// Better Auth's error codes with their exact messages and statuses (errors.md §3, §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UserNotFound,
    FailedToCreateUser,
    FailedToCreateSession,
    FailedToUpdateUser,
    FailedToGetSession,
    InvalidPassword,
    InvalidEmail,
    InvalidEmailOrPassword,
    InvalidUser,
    InvalidToken,
    TokenExpired,
    FailedToGetUserInfo,
    EmailNotVerified,
    PasswordTooShort,
    PasswordTooLong,
    UserAlreadyExists,
    UserAlreadyExistsUseAnotherEmail,
    EmailCanNotBeUpdated,
    ChangeEmailDisabled,
    CredentialAccountNotFound,
    SessionExpired,
    FailedToUnlinkLastAccount,
    AccountNotFound,
    CrossSiteNavigationLoginBlocked,
    VerificationEmailNotEnabled,
    EmailAlreadyVerified,
    EmailMismatch,
    SessionNotFresh,
    InvalidOrigin,
    InvalidCallbackUrl,
    InvalidRedirectUrl,
    InvalidErrorCallbackUrl,
    InvalidNewUserCallbackUrl,
    MissingOrNullOrigin,
    FieldNotAllowed,
    ValidationError,
    MissingField,
    MethodNotAllowedDeferSessionRequired,
    BodyMustBeAnObject,
    EmailPasswordSignUpDisabled,
    EmailPasswordDisabled,
    ResetPasswordDisabled,
    Unauthorized,
    NotFound,
    BadRequest,
    InternalServerError,
    PayloadTooLarge,
    ServiceUnavailable,
    Overloaded,
}

impl ErrorCode {
    pub fn code(self) -> &'static str {
        use ErrorCode::*;
        match self {
            UserNotFound => "USER_NOT_FOUND",
            FailedToCreateUser => "FAILED_TO_CREATE_USER",
            FailedToCreateSession => "FAILED_TO_CREATE_SESSION",
            FailedToUpdateUser => "FAILED_TO_UPDATE_USER",
            FailedToGetSession => "FAILED_TO_GET_SESSION",
            InvalidPassword => "INVALID_PASSWORD",
            InvalidEmail => "INVALID_EMAIL",
            InvalidEmailOrPassword => "INVALID_EMAIL_OR_PASSWORD",
            InvalidUser => "INVALID_USER",
            InvalidToken => "INVALID_TOKEN",
            TokenExpired => "TOKEN_EXPIRED",
            FailedToGetUserInfo => "FAILED_TO_GET_USER_INFO",
            EmailNotVerified => "EMAIL_NOT_VERIFIED",
            PasswordTooShort => "PASSWORD_TOO_SHORT",
            PasswordTooLong => "PASSWORD_TOO_LONG",
            UserAlreadyExists => "USER_ALREADY_EXISTS",
            UserAlreadyExistsUseAnotherEmail => "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
            EmailCanNotBeUpdated => "EMAIL_CAN_NOT_BE_UPDATED",
            ChangeEmailDisabled => "CHANGE_EMAIL_DISABLED",
            CredentialAccountNotFound => "CREDENTIAL_ACCOUNT_NOT_FOUND",
            SessionExpired => "SESSION_EXPIRED",
            FailedToUnlinkLastAccount => "FAILED_TO_UNLINK_LAST_ACCOUNT",
            AccountNotFound => "ACCOUNT_NOT_FOUND",
            CrossSiteNavigationLoginBlocked => "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
            VerificationEmailNotEnabled => "VERIFICATION_EMAIL_NOT_ENABLED",
            EmailAlreadyVerified => "EMAIL_ALREADY_VERIFIED",
            EmailMismatch => "EMAIL_MISMATCH",
            SessionNotFresh => "SESSION_NOT_FRESH",
            InvalidOrigin => "INVALID_ORIGIN",
            InvalidCallbackUrl => "INVALID_CALLBACK_URL",
            InvalidRedirectUrl => "INVALID_REDIRECT_URL",
            InvalidErrorCallbackUrl => "INVALID_ERROR_CALLBACK_URL",
            InvalidNewUserCallbackUrl => "INVALID_NEW_USER_CALLBACK_URL",
            MissingOrNullOrigin => "MISSING_OR_NULL_ORIGIN",
            FieldNotAllowed => "FIELD_NOT_ALLOWED",
            ValidationError => "VALIDATION_ERROR",
            MissingField => "MISSING_FIELD",
            MethodNotAllowedDeferSessionRequired => "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
            BodyMustBeAnObject => "BODY_MUST_BE_AN_OBJECT",
            EmailPasswordSignUpDisabled => "EMAIL_PASSWORD_SIGN_UP_DISABLED",
            EmailPasswordDisabled => "EMAIL_PASSWORD_DISABLED",
            ResetPasswordDisabled => "RESET_PASSWORD_DISABLED",
            Unauthorized => "UNAUTHORIZED",
            NotFound => "NOT_FOUND",
            BadRequest => "BAD_REQUEST",
            InternalServerError => "INTERNAL_SERVER_ERROR",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Overloaded => "SERVER_BUSY",
        }
    }

    pub fn message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            UserNotFound => "User not found",
            FailedToCreateUser => "Failed to create user",
            FailedToCreateSession => "Failed to create session",
            FailedToUpdateUser => "Failed to update user",
            FailedToGetSession => "Failed to get session",
            InvalidPassword => "Invalid password",
            InvalidEmail => "Invalid email",
            InvalidEmailOrPassword => "Invalid email or password",
            InvalidUser => "Invalid user",
            InvalidToken => "Invalid token",
            TokenExpired => "Token expired",
            FailedToGetUserInfo => "Failed to get user info",
            EmailNotVerified => "Email not verified",
            PasswordTooShort => "Password too short",
            PasswordTooLong => "Password too long",
            UserAlreadyExists => "User already exists.",
            UserAlreadyExistsUseAnotherEmail => "User already exists. Use another email.",
            EmailCanNotBeUpdated => "Email can not be updated",
            ChangeEmailDisabled => "Change email is disabled",
            CredentialAccountNotFound => "Credential account not found",
            SessionExpired => "Session expired. Re-authenticate to perform this action.",
            FailedToUnlinkLastAccount => "You can't unlink your last account",
            AccountNotFound => "Account not found",
            CrossSiteNavigationLoginBlocked => {
                "Cross-site navigation login blocked. This request appears to be a CSRF attack."
            }
            VerificationEmailNotEnabled => "Verification email isn't enabled",
            EmailAlreadyVerified => "Email is already verified",
            EmailMismatch => "Email mismatch",
            SessionNotFresh => "Session is not fresh",
            InvalidOrigin => "Invalid origin",
            InvalidCallbackUrl => "Invalid callbackURL",
            InvalidRedirectUrl => "Invalid redirectURL",
            InvalidErrorCallbackUrl => "Invalid errorCallbackURL",
            InvalidNewUserCallbackUrl => "Invalid newUserCallbackURL",
            MissingOrNullOrigin => "Missing or null Origin",
            FieldNotAllowed => "Field not allowed to be set",
            ValidationError => "Validation Error",
            MissingField => "Field is required",
            MethodNotAllowedDeferSessionRequired => {
                "POST method requires deferSessionRefresh to be enabled in session config"
            }
            BodyMustBeAnObject => "Body must be an object",
            EmailPasswordSignUpDisabled => "Email and password sign up is not enabled",
            EmailPasswordDisabled => "Email and password is not enabled",
            ResetPasswordDisabled => "Reset password isn't enabled",
            Unauthorized => "Unauthorized",
            NotFound => "Not found",
            BadRequest => "Invalid JSON in request body",
            InternalServerError => "Internal Server Error",
            PayloadTooLarge => "Request body is too large",
            ServiceUnavailable => "Service temporarily unavailable",
            Overloaded => "Server is busy, try again shortly",
        }
    }

    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            InvalidEmailOrPassword | InvalidUser | Unauthorized | FailedToCreateSession => {
                StatusCode::UNAUTHORIZED
            }
            EmailNotVerified
            | SessionNotFresh
            | InvalidOrigin
            | InvalidCallbackUrl
            | InvalidRedirectUrl
            | InvalidErrorCallbackUrl
            | InvalidNewUserCallbackUrl
            | MissingOrNullOrigin
            | CrossSiteNavigationLoginBlocked => StatusCode::FORBIDDEN,
            UserAlreadyExists | UserAlreadyExistsUseAnotherEmail | FailedToCreateUser => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowedDeferSessionRequired => StatusCode::METHOD_NOT_ALLOWED,
            InternalServerError | FailedToGetSession => StatusCode::INTERNAL_SERVER_ERROR,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceUnavailable | Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A catalogued error with its own message and status.
    #[error("{}", .0.message())]
    Code(ErrorCode),
    /// A catalogued code with another status or message (e.g. `"<field> is required"`).
    #[error("{message}")]
    Custom {
        status: StatusCode,
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// A coded error whose body also carries `details` (the API key plugin's `RATE_LIMITED`).
    #[error("{message}")]
    Detailed {
        status: StatusCode,
        code: &'static str,
        message: Cow<'static, str>,
        details: serde_json::Value,
    },
    /// Errors Better Auth sends without a code (errors.md §5).
    #[error("{message}")]
    MessageOnly {
        status: StatusCode,
        message: Cow<'static, str>,
    },
    /// Errors with an empty body (errors.md §6).
    #[error("{0}")]
    Empty(StatusCode),
    /// Better Auth's `APIError` thrown without a body (`ctx.error("UNAUTHORIZED")`): an empty
    /// body under a JSON content type.
    #[error("{0}")]
    EmptyJson(StatusCode),
    /// The rate limiter refused the request (rate-limit.md §3): 429, a message without a code,
    /// and `X-Retry-After` in whole seconds.
    #[error("too many requests")]
    RateLimited { retry_after: u64 },
    /// The database (or another backing service) cannot be reached: 503 with a code.
    #[error("backing service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Another error, sent with the cookies queued before it (errors.md §1).
    #[error("{0}")]
    WithCookies(Box<ApiError>, Vec<actix_web::cookie::Cookie<'static>>),
    /// Our failure: cause chain logged once, never rendered.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::Code(code)
    }
}

impl ApiError {
    pub fn with_status(code: ErrorCode, status: StatusCode) -> Self {
        ApiError::Custom {
            status,
            code: code.code(),
            message: Cow::Borrowed(code.message()),
        }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::Custom {
            status: code.status(),
            code: code.code(),
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_message(ErrorCode::ValidationError, message)
    }

    pub fn message_only(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::MessageOnly {
            status,
            message: message.into(),
        }
    }

    /// The same status with an empty body, for the routes where Better Auth throws a bare
    /// `ctx.error("UNAUTHORIZED")`; queued cookies are kept.
    pub fn without_body(self) -> Self {
        match self {
            ApiError::Code(c) => ApiError::EmptyJson(c.status()),
            ApiError::Custom { status, .. } | ApiError::MessageOnly { status, .. } => {
                ApiError::EmptyJson(status)
            }
            ApiError::WithCookies(inner, cookies) => {
                ApiError::WithCookies(Box::new(inner.without_body()), cookies)
            }
            other => other,
        }
    }

    /// This error, sent with the cookies queued before it (errors.md §1).
    pub fn with_cookies(self, cookies: Vec<actix_web::cookie::Cookie<'static>>) -> Self {
        if cookies.is_empty() {
            self
        } else {
            ApiError::WithCookies(Box::new(self), cookies)
        }
    }
}

fn json_error(status: StatusCode, message: &str, code: Option<&str>) -> HttpResponse {
    // No custom reason: the standard phrase (`401 Unauthorized`) is what Node sends under Better
    // Auth, whose node adapter writes the status alone (docs/compatibility.md §4.1).
    HttpResponseBuilder::new(status).json(ErrorBody { message, code })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Code(c) => c.status(),
            ApiError::Custom { status, .. }
            | ApiError::Detailed { status, .. }
            | ApiError::MessageOnly { status, .. } => *status,
            ApiError::Empty(s) | ApiError::EmptyJson(s) => *s,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::WithCookies(inner, _) => inner.status_code(),
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(e) if caused_by_outage(e) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Code(c) => {
                let mut res = json_error(c.status(), c.message(), Some(c.code()));
                if c.status() == StatusCode::SERVICE_UNAVAILABLE {
                    res.headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                }
                res
            }
            ApiError::Custom {
                status,
                code,
                message,
            } => json_error(*status, message, Some(code)),
            ApiError::Detailed {
                status,
                code,
                message,
                details,
            } => HttpResponseBuilder::new(*status)
                .json(serde_json::json!({ "message": message, "code": code, "details": details })),
            ApiError::MessageOnly { status, message } => json_error(*status, message, None),
            ApiError::Empty(status) => HttpResponseBuilder::new(*status).finish(),
            ApiError::EmptyJson(status) => HttpResponseBuilder::new(*status)
                .content_type("application/json")
                .finish(),
            ApiError::RateLimited { retry_after } => {
                // Better Auth 1.7.25 `rateLimitResponse`: no `code`, JSON content type, and only
                // the non-standard `X-Retry-After` (no `Retry-After`).
                let mut res = json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests. Please try again later.",
                    None,
                );
                res.headers_mut()
                    .insert(X_RETRY_AFTER, HeaderValue::from(*retry_after));
                res
            }
            ApiError::WithCookies(inner, cookies) => {
                let mut res = inner.error_response();
                for c in cookies {
                    if let Err(e) = res.add_cookie(c) {
                        tracing::error!(error = %e, "a cookie could not be added to an error answer");
                    }
                }
                res
            }
            ApiError::Unavailable(e) => unavailable_response(e),
            ApiError::Internal(e) if caused_by_outage(e) => unavailable_response(e),
            ApiError::Internal(e) => {
                tracing::error!(error.cause_chain = ?e, "request failed");
                HttpResponseBuilder::new(StatusCode::INTERNAL_SERVER_ERROR).finish()
            }
        }
    }
}

/// 503 `SERVICE_UNAVAILABLE` with `Retry-After: 1`, the one answer of every route while a
/// backing service is unreachable.
fn unavailable_response(e: &anyhow::Error) -> HttpResponse {
    tracing::error!(error.cause_chain = ?e, "backing service unavailable");
    let c = ErrorCode::ServiceUnavailable;
    let mut res = json_error(c.status(), c.message(), Some(c.code()));
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// Whether an error that reached the handler unclassified was, underneath, the database or
/// Redis being unreachable: then it is a 503 like the others, not a 500.
fn caused_by_outage(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<crate::store::StoreError>()
            .is_some_and(crate::store::StoreError::is_unavailable)
            || cause
                .downcast_ref::<sea_orm::DbErr>()
                .is_some_and(crate::store::is_unavailable)
            || cause.downcast_ref::<redis::RedisError>().is_some_and(|r| {
                r.is_io_error()
                    || r.is_timeout()
                    || r.is_connection_dropped()
                    || r.is_connection_refusal()
            })
    })
}

/// 415 for a body whose media type the route does not take (README §1.3).
pub fn unsupported_media_type(sent: Option<&str>, allowed: &[&str]) -> ApiError {
    let allowed = allowed.join(", ");
    let message = match sent {
        None => format!("Content-Type is required. Allowed types: {allowed}"),
        Some(t) => format!("Content-Type \"{t}\" is not allowed. Allowed types: {allowed}"),
    };
    ApiError::Custom {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: message.into(),
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Unavailable(e) => ApiError::Unavailable(e.into()),
            StoreError::Redis(e) => ApiError::Unavailable(e.into()),
            StoreError::Conflict => {
                ApiError::Internal(anyhow::anyhow!("unexpected unique constraint violation"))
            }
            StoreError::Other(e) => ApiError::Internal(e.into()),
        }
    }
}

impl From<crate::auth::password::HashError> for ApiError {
    fn from(e: crate::auth::password::HashError) -> Self {
        use crate::auth::password::HashError;
        match e {
            HashError::Overloaded => {
                tracing::warn!("password hashing queue full; shedding load");
                ApiError::Code(ErrorCode::Overloaded)
            }
            HashError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}
