//! `[plugins.email_otp]`: Better Auth's `emailOTP()` options
//! (`packages/better-auth/src/plugins/email-otp/index.ts`, `types.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailOtpSettings {
    pub enabled: bool,
    /// Digits of a code (`otpLength`).
    pub otp_length: usize,
    /// Seconds a code lives (`expiresIn`).
    pub expires_in: i64,
    /// Wrong guesses a code takes before it is void (`allowedAttempts`).
    pub allowed_attempts: u32,
    /// How codes are kept in `verification.value` (`storeOTP`).
    pub store_otp: StoreOtp,
    /// `disableSignUp`: a sign-in code for an unknown email creates no user.
    pub disable_sign_up: bool,
    /// `resendStrategy`: `rotate` (a new code each time) or `reuse` (the live code again, when
    /// it can be read back: not with `store_otp = "hashed"`).
    pub resend_strategy: ResendStrategy,
    /// `rateLimit` of the plugin's routes.
    pub rate_limit: OtpRateLimit,
    /// `changeEmail`: `/email-otp/request-email-change` and `/email-otp/change-email`.
    pub change_email: OtpChangeEmail,
}

/// `[plugins.email_otp.change_email]`: a signed-in user changes address with a code sent to
/// the new one (`changeEmail.enabled`), after proving the current one with an
/// email-verification code when `verify_current_email` (`changeEmail.verifyCurrentEmail`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpChangeEmail {
    pub enabled: bool,
    pub verify_current_email: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreOtp {
    Plain,
    /// base64url(SHA-256(code)), unpadded.
    Hashed,
    /// Better Auth's `symmetricEncrypt` with the secret.
    Encrypted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResendStrategy {
    Rotate,
    Reuse,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpRateLimit {
    pub window: u64,
    pub max: u64,
}

impl Default for OtpRateLimit {
    fn default() -> Self {
        Self { window: 60, max: 3 }
    }
}

impl Default for EmailOtpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            otp_length: 6,
            expires_in: 300,
            allowed_attempts: 3,
            store_otp: StoreOtp::Plain,
            disable_sign_up: false,
            resend_strategy: ResendStrategy::Rotate,
            rate_limit: OtpRateLimit::default(),
            change_email: OtpChangeEmail::default(),
        }
    }
}

impl EmailOtpSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if !(4..=32).contains(&self.otp_length) {
            errors.push("plugins.email_otp.otp_length: between 4 and 32 digits".into());
        }
        if self.expires_in <= 0 {
            errors.push("plugins.email_otp.expires_in: must be positive".into());
        }
        if self.allowed_attempts == 0 {
            errors.push("plugins.email_otp.allowed_attempts: at least 1".into());
        }
        if self.rate_limit.window == 0 || self.rate_limit.max == 0 {
            errors.push("plugins.email_otp.rate_limit: window and max must be positive".into());
        }
    }
}
