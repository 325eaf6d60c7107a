//! `[plugins.two_factor]`: Better Auth's `twoFactor()` options
//! (`packages/better-auth/src/plugins/two-factor/index.ts`, `totp/`, `otp/`, `backup-codes/`,
//! `verify-two-factor.ts`), in snake_case, with Better Auth's defaults.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoFactorSettings {
    pub enabled: bool,
    /// The issuer in the otpauth URI (`issuer`); default: the app name, "Better Auth".
    pub issuer: Option<String>,
    /// Enable without verifying a first code (`skipVerificationOnEnable`).
    pub skip_verification_on_enable: bool,
    /// Seconds a trusted device skips the second factor (`trustDeviceMaxAge`).
    pub trust_device_max_age: i64,
    /// Seconds a sign-in waits for its second factor (`twoFactorCookieMaxAge`).
    pub two_factor_cookie_max_age: i64,
    /// Users without a password may enable two-factor without one (`allowPasswordless`).
    pub allow_passwordless: bool,
    pub totp_options: TotpOptions,
    pub otp_options: OtpOptions,
    pub backup_code_options: BackupCodeOptions,
    pub account_lockout: AccountLockout,
}

impl Default for TwoFactorSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            issuer: None,
            skip_verification_on_enable: false,
            trust_device_max_age: 2_592_000,
            two_factor_cookie_max_age: 600,
            allow_passwordless: false,
            totp_options: TotpOptions::default(),
            otp_options: OtpOptions::default(),
            backup_code_options: BackupCodeOptions::default(),
            account_lockout: AccountLockout::default(),
        }
    }
}

/// `totpOptions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpOptions {
    pub digits: u32,
    /// Seconds per code.
    pub period: u64,
    /// TOTP off (`disable`): only OTP and backup codes.
    pub disable: bool,
}

impl Default for TotpOptions {
    fn default() -> Self {
        Self {
            digits: 6,
            period: 30,
            disable: false,
        }
    }
}

/// `otpOptions`. Better Auth sends the code with the `sendOTP` hook; here `send_otp = true`
/// sends it through `[email]` (mail type `two-factor-otp`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpOptions {
    pub send_otp: bool,
    /// Minutes a code stays valid (`period`, minutes as in Better Auth).
    pub period: i64,
    pub digits: usize,
    /// Wrong codes before a new one must be asked for (`allowedAttempts`).
    pub allowed_attempts: u32,
    /// `plain` | `hashed` | `encrypted` (`storeOTP`).
    pub store_otp: String,
}

impl Default for OtpOptions {
    fn default() -> Self {
        Self {
            send_otp: false,
            period: 3,
            digits: 6,
            allowed_attempts: 5,
            store_otp: "plain".into(),
        }
    }
}

/// `backupCodeOptions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupCodeOptions {
    pub amount: usize,
    pub length: usize,
    /// `encrypted` | `plain` (`storeBackupCodes`).
    pub store_backup_codes: String,
}

impl Default for BackupCodeOptions {
    fn default() -> Self {
        Self {
            amount: 10,
            length: 10,
            store_backup_codes: "encrypted".into(),
        }
    }
}

/// `accountLockout`: consecutive failed second factors per account, across sign-ins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountLockout {
    pub enabled: bool,
    pub max_failed_attempts: i64,
    pub duration_seconds: i64,
}

impl Default for AccountLockout {
    fn default() -> Self {
        Self {
            enabled: true,
            max_failed_attempts: 10,
            duration_seconds: 900,
        }
    }
}

impl TwoFactorSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        let p = "plugins.two_factor";
        if !(1..=8).contains(&self.totp_options.digits) {
            errors.push(format!("{p}.totp_options.digits: between 1 and 8"));
        }
        if self.totp_options.period == 0 {
            errors.push(format!("{p}.totp_options.period: must be positive"));
        }
        if !(1..=32).contains(&self.otp_options.digits) {
            errors.push(format!("{p}.otp_options.digits: between 1 and 32"));
        }
        if self.otp_options.period <= 0 || self.otp_options.allowed_attempts == 0 {
            errors.push(format!(
                "{p}.otp_options.period / allowed_attempts: must be positive"
            ));
        }
        if !["plain", "hashed", "encrypted"].contains(&self.otp_options.store_otp.as_str()) {
            errors.push(format!(
                "{p}.otp_options.store_otp: plain, hashed or encrypted"
            ));
        }
        if !["plain", "encrypted"].contains(&self.backup_code_options.store_backup_codes.as_str()) {
            errors.push(format!(
                "{p}.backup_code_options.store_backup_codes: plain or encrypted"
            ));
        }
        if self.backup_code_options.amount == 0
            || !(2..=64).contains(&self.backup_code_options.length)
        {
            errors.push(format!(
                "{p}.backup_code_options: amount positive, length between 2 and 64"
            ));
        }
        if self.trust_device_max_age <= 0
            || self.two_factor_cookie_max_age <= 0
            || self.account_lockout.max_failed_attempts <= 0
            || self.account_lockout.duration_seconds <= 0
        {
            errors.push(format!(
                "{p}.trust_device_max_age / two_factor_cookie_max_age / account_lockout: must be \
                 positive"
            ));
        }
    }

    /// The otpauth URI's issuer when the request names none.
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or("Better Auth")
    }
}
