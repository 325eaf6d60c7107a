//! The organization plugin's teams: `team`, `teamMember`, and the `teamId` list of an
//! invitation (Better Auth's `plugins/organization/adapter.ts`, team functions).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, TransactionTrait};

use super::{exec, get_opt_str, get_opt_ts, get_str, get_ts, Store, StoreError, StoreResult};

/// One `team` row (its `memberCount` is kept here, never returned).
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub organization_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    /// `memberCount`, kept by the adds and removals.
    pub member_count: i64,
}

/// One `teamMember` row (its `membershipKey` is kept here, never returned).
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMember {
    pub id: String,
    pub team_id: String,
    pub user_id: String,
    pub created_at: Option<DateTime<Utc>>,
}

fn team_t() -> Alias {
    Alias::new("team")
}
fn tm_t() -> Alias {
    Alias::new("teamMember")
}
fn col(name: &str) -> Alias {
    Alias::new(name)
}

const TEAM_COLUMNS: [&str; 5] = ["id", "name", "organizationId", "createdAt", "updatedAt"];

fn member_count(row: &QueryResult) -> Result<i64, DbErr> {
    row.try_get::<i64>("", "memberCount")
        .or_else(|_| row.try_get::<i32>("", "memberCount").map(i64::from))
}
const TM_COLUMNS: [&str; 4] = ["id", "teamId", "userId", "createdAt"];

fn team_from_row(row: &QueryResult) -> Result<Team, DbErr> {
    Ok(Team {
        id: get_str(row, "id")?,
        name: get_str(row, "name")?,
        organization_id: get_str(row, "organizationId")?,
        created_at: get_ts(row, "createdAt")?,
        updated_at: get_opt_ts(row, "updatedAt")?,
        member_count: member_count(row)?,
    })
}

fn tm_from_row(row: &QueryResult) -> Result<TeamMember, DbErr> {
    Ok(TeamMember {
        id: get_str(row, "id")?,
        team_id: get_str(row, "teamId")?,
        user_id: get_str(row, "userId")?,
        created_at: get_opt_ts(row, "createdAt")?,
    })
}

fn team_select() -> SelectStatement {
    let mut q = Query::select();
    for c in TEAM_COLUMNS.into_iter().chain(["memberCount"]) {
        q.column((team_t(), col(c)));
    }
    q.from(team_t());
    q
}

fn tm_select() -> SelectStatement {
    let mut q = Query::select();
    for c in TM_COLUMNS {
        q.column((tm_t(), col(c)));
    }
    q.from(tm_t());
    q
}

/// Better Auth's `computeTeamMembershipKey`: base64url(SHA-256(JSON `[teamId, userId]`)), the
/// unique column that keeps a user in a team once.
fn membership_key(team_id: &str, user_id: &str) -> String {
    let json = serde_json::to_string(&[team_id, user_id]).unwrap_or_default();
    crate::auth::crypto::b64url(&crate::auth::crypto::sha256(json.as_bytes()))
}

impl Store {
    pub async fn insert_team(&self, t: &Team) -> StoreResult<()> {
        self.insert_team_on(&self.db, t).await
    }

    async fn insert_team_on<C: ConnectionTrait>(&self, c: &C, t: &Team) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(team_t())
            .columns(
                TEAM_COLUMNS
                    .map(col)
                    .into_iter()
                    .chain([col("memberCount")]),
            )
            .values_panic([
                t.id.clone().into(),
                t.name.clone().into(),
                t.organization_id.clone().into(),
                self.ts(t.created_at).into(),
                self.opt_ts(t.updated_at).into(),
                0.into(),
            ])
            .to_owned();
        exec(c, self.stmt(&q)).await?;
        Ok(())
    }

    /// The team, only when it belongs to `organization_id` (when given).
    pub async fn find_team(
        &self,
        id: &str,
        organization_id: Option<&str>,
    ) -> StoreResult<Option<Team>> {
        let mut q = team_select();
        q.and_where(Expr::col((team_t(), col("id"))).eq(id));
        if let Some(org) = organization_id {
            q.and_where(Expr::col((team_t(), col("organizationId"))).eq(org));
        }
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(team_from_row(&row)?)),
            None => Ok(None),
        }
    }

    pub async fn list_teams(&self, organization_id: &str) -> StoreResult<Vec<Team>> {
        let q = team_select()
            .and_where(Expr::col((team_t(), col("organizationId"))).eq(organization_id))
            .order_by((team_t(), col("createdAt")), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(team_from_row).collect::<Result<_, _>>()?)
    }

    /// Renames the team; the team afterwards.
    pub async fn rename_team(
        &self,
        id: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Team>> {
        let mut q = Query::update();
        q.table(team_t())
            .value(col("updatedAt"), self.ts(now))
            .and_where(Expr::col(col("id")).eq(id));
        if let Some(name) = name {
            q.value(col("name"), name);
        }
        exec(&self.db, self.stmt(&q)).await?;
        self.find_team(id, None).await
    }

    /// Deletes the team and its memberships, and takes it out of the organization's pending
    /// invitations' team lists.
    pub async fn delete_team(&self, team: &Team) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        let q = Query::delete()
            .from_table(tm_t())
            .and_where(Expr::col(col("teamId")).eq(team.id.as_str()))
            .to_owned();
        exec(&txn, self.stmt(&q)).await?;
        let q = Query::delete()
            .from_table(team_t())
            .and_where(Expr::col(col("id")).eq(team.id.as_str()))
            .to_owned();
        exec(&txn, self.stmt(&q)).await?;
        let q = Query::select()
            .columns([col("id"), col("teamId")])
            .from(Alias::new("invitation"))
            .and_where(Expr::col(col("organizationId")).eq(team.organization_id.as_str()))
            .and_where(Expr::col(col("status")).eq("pending"))
            .and_where(Expr::col(col("teamId")).is_not_null())
            .to_owned();
        for row in txn.query_all(self.stmt(&q)).await? {
            let id = get_str(&row, "id")?;
            let Some(list) = get_opt_str(&row, "teamId")? else {
                continue;
            };
            let ids: Vec<&str> = list.split(',').collect();
            if !ids.contains(&team.id.as_str()) {
                continue;
            }
            let rest: Vec<&str> = ids.into_iter().filter(|t| *t != team.id).collect();
            let value = (!rest.is_empty()).then(|| rest.join(","));
            self.set_invitation_teams_on(&txn, &id, value).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The invitation's `teamId` (comma-separated team ids), on a database with teams.
    pub async fn invitation_teams(&self, invitation_id: &str) -> StoreResult<Option<String>> {
        let q = Query::select()
            .column(col("teamId"))
            .from(Alias::new("invitation"))
            .and_where(Expr::col(col("id")).eq(invitation_id))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(get_opt_str(&row, "teamId")?),
            None => Ok(None),
        }
    }

    /// The `teamId` list of each invitation of `ids` that exists, read by one query per
    /// `MAX_ROWS` ids.
    pub async fn invitations_teams(
        &self,
        ids: &[&str],
    ) -> StoreResult<std::collections::HashMap<String, Option<String>>> {
        let mut teams = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::group::MAX_ROWS) {
            let q = Query::select()
                .columns([col("id"), col("teamId")])
                .from(Alias::new("invitation"))
                .and_where(Expr::col(col("id")).is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.db.query_all(self.stmt(&q)).await? {
                teams.insert(get_str(&row, "id")?, get_opt_str(&row, "teamId")?);
            }
        }
        Ok(teams)
    }

    pub async fn set_invitation_teams(
        &self,
        invitation_id: &str,
        teams: Option<String>,
    ) -> StoreResult<()> {
        self.set_invitation_teams_on(&self.db, invitation_id, teams)
            .await
    }

    async fn set_invitation_teams_on<C: ConnectionTrait>(
        &self,
        c: &C,
        invitation_id: &str,
        teams: Option<String>,
    ) -> StoreResult<()> {
        let q = Query::update()
            .table(Alias::new("invitation"))
            .value(col("teamId"), teams)
            .and_where(Expr::col(col("id")).eq(invitation_id))
            .to_owned();
        exec(c, self.stmt(&q)).await?;
        Ok(())
    }

    pub async fn find_team_member(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<TeamMember>> {
        let q = tm_select()
            .and_where(Expr::col(col("teamId")).eq(team_id))
            .and_where(Expr::col(col("userId")).eq(user_id))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(tm_from_row(&row)?)),
            None => Ok(None),
        }
    }

    pub async fn list_team_members(&self, team_id: &str) -> StoreResult<Vec<TeamMember>> {
        let q = tm_select()
            .and_where(Expr::col(col("teamId")).eq(team_id))
            .order_by(col("createdAt"), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(tm_from_row).collect::<Result<_, _>>()?)
    }

    /// The teams the user is in.
    pub async fn teams_of_user(&self, user_id: &str) -> StoreResult<Vec<Team>> {
        let q = team_select()
            .inner_join(
                tm_t(),
                Expr::col((tm_t(), col("teamId"))).equals((team_t(), col("id"))),
            )
            .and_where(Expr::col((tm_t(), col("userId"))).eq(user_id))
            .order_by((team_t(), col("createdAt")), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(team_from_row).collect::<Result<_, _>>()?)
    }

    /// Better Auth's `findOrCreateTeamMember` / `addTeamMemberWithLimit`: the existing
    /// membership, or a new one when the team has fewer than `limit` members (`None`: the
    /// limit is reached). The unique membership key keeps a user in a team once, even when
    /// two requests add them at once.
    pub async fn add_team_member(
        &self,
        team_id: &str,
        user_id: &str,
        limit: Option<u64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TeamMember>> {
        if let Some(existing) = self.find_team_member(team_id, user_id).await? {
            return Ok(Some(existing));
        }
        let txn = self.db.begin().await?;
        if let Some(limit) = limit {
            let mut q = Query::update();
            q.table(team_t())
                .value(col("memberCount"), Expr::col(col("memberCount")).add(1))
                .and_where(Expr::col(col("id")).eq(team_id))
                .and_where(Expr::col(col("memberCount")).lt(limit));
            if exec(&txn, self.stmt(&q)).await? == 0 {
                txn.rollback().await?;
                return Ok(None);
            }
        } else {
            let q = Query::update()
                .table(team_t())
                .value(col("memberCount"), Expr::col(col("memberCount")).add(1))
                .and_where(Expr::col(col("id")).eq(team_id))
                .to_owned();
            exec(&txn, self.stmt(&q)).await?;
        }
        let member = TeamMember {
            id: crate::auth::crypto::generate_id(),
            team_id: team_id.to_owned(),
            user_id: user_id.to_owned(),
            created_at: Some(now),
        };
        let q = Query::insert()
            .into_table(tm_t())
            .columns(
                TM_COLUMNS
                    .map(col)
                    .into_iter()
                    .chain([col("membershipKey")]),
            )
            .values_panic([
                member.id.clone().into(),
                member.team_id.clone().into(),
                member.user_id.clone().into(),
                self.opt_ts(member.created_at).into(),
                membership_key(team_id, user_id).into(),
            ])
            .to_owned();
        match exec(&txn, self.stmt(&q)).await {
            Ok(_) => {
                txn.commit().await?;
                Ok(Some(member))
            }
            Err(StoreError::Conflict) => {
                txn.rollback().await?;
                Ok(self.find_team_member(team_id, user_id).await?)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the user from the team; how many memberships went.
    pub async fn remove_team_member(&self, team_id: &str, user_id: &str) -> StoreResult<u64> {
        let txn = self.db.begin().await?;
        let n = self.remove_team_member_on(&txn, team_id, user_id).await?;
        txn.commit().await?;
        Ok(n)
    }

    async fn remove_team_member_on<C: ConnectionTrait>(
        &self,
        c: &C,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(tm_t())
            .and_where(Expr::col(col("teamId")).eq(team_id))
            .and_where(Expr::col(col("userId")).eq(user_id))
            .to_owned();
        let n = exec(c, self.stmt(&q)).await?;
        if n > 0 {
            let q = Query::update()
                .table(team_t())
                .value(col("memberCount"), Expr::col(col("memberCount")).sub(n))
                .and_where(Expr::col(col("id")).eq(team_id))
                .and_where(Expr::col(col("memberCount")).gte(n))
                .to_owned();
            exec(c, self.stmt(&q)).await?;
        }
        Ok(n)
    }

    /// Takes the user out of every team of the organization (they left it).
    pub async fn remove_from_teams(&self, organization_id: &str, user_id: &str) -> StoreResult<()> {
        let teams = self.list_teams(organization_id).await?;
        let txn = self.db.begin().await?;
        for team in teams {
            self.remove_team_member_on(&txn, &team.id, user_id).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stores a team with its first member (an organization's default team).
    pub async fn insert_team_with_member(
        &self,
        team: &Team,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<TeamMember> {
        self.insert_team(team).await?;
        self.add_team_member(&team.id, user_id, None, now)
            .await?
            .ok_or_else(|| StoreError::Other(DbErr::Custom("team member not added".into())))
    }
}
