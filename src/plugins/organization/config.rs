//! `[plugins.organization]`: Better Auth's `organization()` options
//! (`packages/better-auth/src/plugins/organization/types.ts`), those that are values.

use indexmap::IndexMap;
use serde::Deserialize;

use crate::auth::access::Statements;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganizationSettings {
    pub enabled: bool,
    /// `allowUserToCreateOrganization`.
    pub allow_user_to_create_organization: bool,
    /// How many organizations a user may be a member of to create another
    /// (`organizationLimit`); unset: no limit.
    pub organization_limit: Option<u64>,
    /// The role of an organization's creator (`creatorRole`).
    pub creator_role: String,
    /// Members per organization (`membershipLimit`; 0 means the default, as in Better Auth).
    pub membership_limit: u64,
    /// Seconds (`invitationExpiresIn`).
    pub invitation_expires_in: i64,
    /// Pending invitations per organization (`invitationLimit`).
    pub invitation_limit: u64,
    /// `cancelPendingInvitationsOnReInvite`.
    pub cancel_pending_invitations_on_re_invite: bool,
    /// Accepting, rejecting or viewing an invitation needs a verified email
    /// (`requireEmailVerificationOnInvitation`).
    pub require_email_verification_on_invitation: bool,
    /// `disableOrganizationDeletion`.
    pub disable_organization_deletion: bool,
    /// Invitations are mailed through `[email]` (`sendInvitationEmail`).
    pub send_invitation_email: bool,
    /// Custom roles, resource → actions (`roles`): permission checks use them instead of the
    /// default owner/admin/member.
    pub roles: IndexMap<String, Statements>,
    pub teams: TeamsSettings,
}

/// `[plugins.organization.teams]` (`teams`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeamsSettings {
    pub enabled: bool,
    /// Teams per organization (`maximumTeams`); unset: no limit.
    pub maximum_teams: Option<u64>,
    /// Members per team (`maximumMembersPerTeam`); unset: no limit.
    pub maximum_members_per_team: Option<u64>,
    /// `allowRemovingAllTeams`: else the last team of an organization stays.
    pub allow_removing_all_teams: bool,
    pub default_team: DefaultTeam,
}

/// `[plugins.organization.teams.default_team]` (`teams.defaultTeam`): a new organization gets
/// a team of its name with its creator in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultTeam {
    pub enabled: bool,
}

impl Default for DefaultTeam {
    fn default() -> Self {
        Self { enabled: true }
    }
}

impl Default for OrganizationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            allow_user_to_create_organization: true,
            organization_limit: None,
            creator_role: "owner".into(),
            membership_limit: 100,
            invitation_expires_in: 172_800,
            invitation_limit: 100,
            cancel_pending_invitations_on_re_invite: false,
            require_email_verification_on_invitation: false,
            disable_organization_deletion: false,
            send_invitation_email: true,
            roles: IndexMap::new(),
            teams: TeamsSettings::default(),
        }
    }
}

impl OrganizationSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if self.invitation_expires_in <= 0 {
            errors.push("plugins.organization.invitation_expires_in: must be positive".into());
        }
        if self.creator_role.trim().is_empty() || self.creator_role.contains(',') {
            errors.push("plugins.organization.creator_role: one role name".into());
        }
        for (role, statements) in &self.roles {
            if role.trim().is_empty() || role.contains(',') {
                errors.push(format!(
                    "plugins.organization.roles: `{role}` is not a role name"
                ));
            }
            if statements.is_empty() {
                errors.push(format!(
                    "plugins.organization.roles.{role}: at least one resource"
                ));
            }
        }
    }

    /// Members per organization, Better Auth's `membershipLimit || 100`.
    pub fn membership_limit(&self) -> u64 {
        if self.membership_limit == 0 {
            100
        } else {
            self.membership_limit
        }
    }
}
