//! The organization plugin's tables: `organization`, `member`, `invitation` (Better Auth's
//! `plugins/organization/adapter.ts`, `getOrgAdapter`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Cond, Expr, Func, Order, Query, SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, TransactionTrait};

use super::user_list::Operator;
use super::{exec, get_opt_str, get_str, get_ts, Store, StoreError, StoreResult};

/// One `organization` row. `metadata` is the column as stored (JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub logo: Option<String>,
    pub created_at: DateTime<Utc>,
    pub metadata: Option<String>,
}

/// get-full-organization's read: the organization, a page of its members with their users,
/// and its invitations.
#[derive(Debug, Clone, PartialEq)]
pub struct FullOrganization {
    pub organization: Organization,
    pub members: Vec<(Member, MemberUser)>,
    pub invitations: Vec<Invitation>,
}

/// One `member` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: String,
    pub organization_id: String,
    pub user_id: String,
    /// Comma-separated roles.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// The member's user as Better Auth returns it beside a member (`id`, `name`, `email`, `image`).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub image: Option<String>,
}

/// One `invitation` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    /// Lower-cased.
    pub email: String,
    pub role: Option<String>,
    /// `pending`, `accepted`, `rejected` or `canceled`.
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub inviter_id: String,
}

/// The columns an organization update may change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `Some(None)` clears it.
    pub logo: Option<Option<String>>,
    pub metadata: Option<Option<String>>,
}

impl OrganizationUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.slug.is_none() && self.logo.is_none() && self.metadata.is_none()
    }
}

/// A page of members: filter, sort, limit, offset (the query of `list-members`).
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Column of `member`, operator, values (several for `in`/`not_in`).
    pub filter: Option<(String, Operator, Vec<String>)>,
    /// Column of `member` and whether descending.
    pub sort: Option<(String, bool)>,
    pub limit: u64,
    pub offset: u64,
}

/// The organization's members that `query`'s filter keeps.
fn member_cond(organization_id: &str, query: &MemberQuery) -> Cond {
    let cond = Cond::all().add(Expr::col((member_t(), col("organizationId"))).eq(organization_id));
    match &query.filter {
        Some(f) => cond.add(member_filter(f)),
        None => cond,
    }
}

/// The columns of `member` a list may filter or sort on.
pub const MEMBER_COLUMNS: [&str; 5] = ["id", "organizationId", "userId", "role", "createdAt"];

fn org_t() -> Alias {
    Alias::new("organization")
}
fn member_t() -> Alias {
    Alias::new("member")
}
fn invitation_t() -> Alias {
    Alias::new("invitation")
}
fn col(name: &str) -> Alias {
    Alias::new(name)
}

const ORG_COLUMNS: [&str; 6] = ["id", "name", "slug", "logo", "createdAt", "metadata"];
const INVITATION_COLUMNS: [&str; 8] = [
    "id",
    "organizationId",
    "email",
    "role",
    "status",
    "expiresAt",
    "createdAt",
    "inviterId",
];

fn org_from_row(row: &QueryResult) -> Result<Organization, DbErr> {
    org_from_named_row(row, |c| c.to_owned())
}

/// An organization whose columns are named `name(column)` (`o_id`, ... beside a member's).
fn org_from_named_row(
    row: &QueryResult,
    name: impl Fn(&str) -> String,
) -> Result<Organization, DbErr> {
    Ok(Organization {
        id: get_str(row, &name("id"))?,
        name: get_str(row, &name("name"))?,
        slug: get_str(row, &name("slug"))?,
        logo: get_opt_str(row, &name("logo"))?,
        created_at: get_ts(row, &name("createdAt"))?,
        metadata: get_opt_str(row, &name("metadata"))?,
    })
}

fn member_from_row(row: &QueryResult) -> Result<Member, DbErr> {
    Ok(Member {
        id: get_str(row, "id")?,
        organization_id: get_str(row, "organizationId")?,
        user_id: get_str(row, "userId")?,
        role: get_str(row, "role")?,
        created_at: get_ts(row, "createdAt")?,
    })
}

fn member_user_from_row(row: &QueryResult) -> Result<MemberUser, DbErr> {
    Ok(MemberUser {
        id: get_str(row, "u_id")?,
        name: get_str(row, "u_name")?,
        email: get_str(row, "u_email")?,
        image: get_opt_str(row, "u_image")?,
    })
}

fn invitation_from_row(row: &QueryResult) -> Result<Invitation, DbErr> {
    invitation_from_named_row(row, |c| c.to_owned())
}

/// An invitation whose columns are named `name(column)` (`i_id`, ... beside a member page).
fn invitation_from_named_row(
    row: &QueryResult,
    name: impl Fn(&str) -> String,
) -> Result<Invitation, DbErr> {
    Ok(Invitation {
        id: get_str(row, &name("id"))?,
        organization_id: get_str(row, &name("organizationId"))?,
        email: get_str(row, &name("email"))?,
        role: get_opt_str(row, &name("role"))?,
        status: get_str(row, &name("status"))?,
        expires_at: get_ts(row, &name("expiresAt"))?,
        created_at: get_ts(row, &name("createdAt"))?,
        inviter_id: get_str(row, &name("inviterId"))?,
    })
}

fn org_select() -> SelectStatement {
    let mut q = Query::select();
    for c in ORG_COLUMNS {
        q.column((org_t(), col(c)));
    }
    q.from(org_t());
    q
}

fn invitation_select() -> SelectStatement {
    let mut q = Query::select();
    for c in INVITATION_COLUMNS {
        q.column((invitation_t(), col(c)));
    }
    q.from(invitation_t());
    q
}

/// The user's columns beside a member (`MemberUser`).
const MEMBER_USER_COLUMNS: [&str; 4] = ["id", "name", "email", "image"];

/// The member's columns and its user's `id`, `name`, `email`, `image` (as `u_*`).
fn select_member_and_user(q: &mut SelectStatement) {
    let user = Alias::new("user");
    for c in MEMBER_COLUMNS {
        q.column((member_t(), col(c)));
    }
    for c in MEMBER_USER_COLUMNS {
        q.expr_as(
            Expr::col((user.clone(), col(c))),
            Alias::new(format!("u_{c}")),
        );
    }
}

/// Members joined with their user's `id`, `name`, `email`, `image` (as `u_*`).
fn member_with_user_select() -> SelectStatement {
    let user = Alias::new("user");
    let mut q = Query::select();
    select_member_and_user(&mut q);
    q.from(member_t()).inner_join(
        user.clone(),
        Expr::col((user, col("id"))).equals((member_t(), col("userId"))),
    );
    q
}

fn count_of(row: Option<QueryResult>) -> Result<u64, DbErr> {
    let n = match row {
        Some(row) => row
            .try_get::<i64>("", "n")
            .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn member_filter(filter: &(String, Operator, Vec<String>)) -> SimpleExpr {
    let (field, op, values) = filter;
    let c = Expr::col((member_t(), col(field)));
    let first = values.first().cloned().unwrap_or_default();
    match op {
        Operator::Eq => c.eq(first),
        Operator::Ne => c.ne(first),
        Operator::Lt => c.lt(first),
        Operator::Lte => c.lte(first),
        Operator::Gt => c.gt(first),
        Operator::Gte => c.gte(first),
        Operator::In => c.is_in(values.clone()),
        Operator::NotIn => c.is_not_in(values.clone()),
        Operator::Contains => c.like(format!("%{}%", escape_like(&first))),
        Operator::StartsWith => c.like(format!("{}%", escape_like(&first))),
        Operator::EndsWith => c.like(format!("%{}", escape_like(&first))),
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Stores a new organization and its creator's membership together.
    pub async fn insert_organization(&self, org: &Organization, owner: &Member) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        let q = Query::insert()
            .into_table(org_t())
            .columns(ORG_COLUMNS.map(col))
            .values_panic([
                org.id.clone().into(),
                org.name.clone().into(),
                org.slug.clone().into(),
                org.logo.clone().into(),
                self.ts(org.created_at).into(),
                org.metadata.clone().into(),
            ])
            .to_owned();
        exec(&txn, self.stmt(&q)).await?;
        self.insert_member_on(&txn, owner).await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn find_organization(&self, id: &str) -> StoreResult<Option<Organization>> {
        self.find_organization_where(Expr::col((org_t(), col("id"))).eq(id))
            .await
    }

    /// By slug, compared as the database compares text (MySQL's collation ignores case).
    pub async fn find_organization_by_slug(&self, slug: &str) -> StoreResult<Option<Organization>> {
        self.find_organization_where(Expr::col((org_t(), col("slug"))).eq(slug))
            .await
    }

    async fn find_organization_where(&self, cond: SimpleExpr) -> StoreResult<Option<Organization>> {
        let q = org_select().and_where(cond).to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(org_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// Applies `update`; the row afterwards, `None` when there is none.
    pub async fn update_organization(
        &self,
        id: &str,
        update: &OrganizationUpdate,
    ) -> StoreResult<Option<Organization>> {
        if !update.is_empty() {
            let mut q = Query::update();
            q.table(org_t()).and_where(Expr::col(col("id")).eq(id));
            if let Some(v) = &update.name {
                q.value(col("name"), v.clone());
            }
            if let Some(v) = &update.slug {
                q.value(col("slug"), v.clone());
            }
            if let Some(v) = &update.logo {
                q.value(col("logo"), v.clone());
            }
            if let Some(v) = &update.metadata {
                q.value(col("metadata"), v.clone());
            }
            exec(&self.db, self.stmt(&q)).await?;
        }
        self.find_organization(id).await
    }

    /// Deletes the organization with its members and invitations.
    pub async fn delete_organization(&self, id: &str) -> StoreResult<()> {
        let txn = self.db.begin().await?;
        for table in [member_t(), invitation_t()] {
            let q = Query::delete()
                .from_table(table)
                .and_where(Expr::col(col("organizationId")).eq(id))
                .to_owned();
            exec(&txn, self.stmt(&q)).await?;
        }
        let q = Query::delete()
            .from_table(org_t())
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&txn, self.stmt(&q)).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The organizations the user is a member of.
    pub async fn list_organizations_of(&self, user_id: &str) -> StoreResult<Vec<Organization>> {
        let q = org_select()
            .inner_join(
                member_t(),
                Expr::col((member_t(), col("organizationId"))).equals((org_t(), col("id"))),
            )
            .and_where(Expr::col((member_t(), col("userId"))).eq(user_id))
            .order_by((member_t(), col("createdAt")), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(org_from_row).collect::<Result<_, _>>()?)
    }

    async fn insert_member_on<C: ConnectionTrait>(&self, c: &C, m: &Member) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(member_t())
            .columns(MEMBER_COLUMNS.map(col))
            .values_panic([
                m.id.clone().into(),
                m.organization_id.clone().into(),
                m.user_id.clone().into(),
                m.role.clone().into(),
                self.ts(m.created_at).into(),
            ])
            .to_owned();
        exec(c, self.stmt(&q)).await?;
        Ok(())
    }

    pub async fn insert_member(&self, m: &Member) -> StoreResult<()> {
        self.insert_member_on(&self.db, m).await
    }

    /// The user's membership of the organization, with the user.
    pub async fn find_member(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(Member, MemberUser)>> {
        self.find_member_where(
            Cond::all()
                .add(Expr::col((member_t(), col("organizationId"))).eq(organization_id))
                .add(Expr::col((member_t(), col("userId"))).eq(user_id)),
        )
        .await
    }

    /// A membership by its id, in any organization, with the user.
    pub async fn find_member_by_id(&self, id: &str) -> StoreResult<Option<(Member, MemberUser)>> {
        self.find_member_where(Cond::all().add(Expr::col((member_t(), col("id"))).eq(id)))
            .await
    }

    /// The membership of the user with this email (lower-cased) in the organization.
    pub async fn find_member_by_email(
        &self,
        organization_id: &str,
        email: &str,
    ) -> StoreResult<Option<(Member, MemberUser)>> {
        self.find_member_where(
            Cond::all()
                .add(Expr::col((member_t(), col("organizationId"))).eq(organization_id))
                .add(Expr::col((Alias::new("user"), col("email"))).eq(email.to_lowercase())),
        )
        .await
    }

    async fn find_member_where(&self, cond: Cond) -> StoreResult<Option<(Member, MemberUser)>> {
        let q = member_with_user_select().cond_where(cond).to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some((member_from_row(&row)?, member_user_from_row(&row)?))),
            None => Ok(None),
        }
    }

    /// A page of the organization's members (with their users), and how many match in all.
    pub async fn list_members(
        &self,
        organization_id: &str,
        query: &MemberQuery,
    ) -> StoreResult<(Vec<(Member, MemberUser)>, u64)> {
        let members = self.members_page(organization_id, query).await?;
        let count = Query::select()
            .expr_as(
                Func::count(Expr::col((member_t(), col("id")))),
                Alias::new("n"),
            )
            .from(member_t())
            .cond_where(member_cond(organization_id, query))
            .to_owned();
        let total = count_of(self.db.query_one(self.stmt(&count)).await?)?;
        Ok((members, total))
    }

    /// The organization whose `column` (`id` or `slug`) is `value`, with the first `limit` of
    /// its members (oldest first) and their users, and every invitation to it (oldest first),
    /// in one statement: get-full-organization's read. `None` when no organization matches.
    ///
    /// The member page (organization ⟕ member ⟕ user, limited) and the invitations are the two
    /// halves of a `UNION ALL`, each padded with `NULL` for the other's columns; an invitation
    /// row is the one whose `i_id` is set. Both halves are sorted here, not by the database.
    pub async fn organization_with_members(
        &self,
        column: &str,
        value: &str,
        limit: u64,
    ) -> StoreResult<Option<FullOrganization>> {
        let user = Alias::new("user");
        let mut page = Query::select();
        let mut page_columns: Vec<String> = ORG_COLUMNS.iter().map(|c| format!("o_{c}")).collect();
        for c in ORG_COLUMNS {
            page.expr_as(Expr::col((org_t(), col(c))), Alias::new(format!("o_{c}")));
        }
        select_member_and_user(&mut page);
        page_columns.extend(MEMBER_COLUMNS.iter().map(|c| (*c).to_owned()));
        page_columns.extend(MEMBER_USER_COLUMNS.iter().map(|c| format!("u_{c}")));
        page.from(org_t())
            .left_join(
                member_t(),
                Expr::col((member_t(), col("organizationId"))).equals((org_t(), col("id"))),
            )
            .left_join(
                user.clone(),
                Expr::col((user, col("id"))).equals((member_t(), col("userId"))),
            )
            .and_where(Expr::col((org_t(), col(column))).eq(value))
            .order_by((member_t(), col("createdAt")), Order::Asc)
            .order_by((member_t(), col("id")), Order::Asc)
            .limit(limit.max(1));
        // An untyped NULL takes the other half's column type (PostgreSQL's UNION resolution);
        // a bound NULL would be text.
        let null = || Expr::cust("NULL");
        let page_t = Alias::new("page");
        let mut q = Query::select();
        q.column((page_t.clone(), Asterisk));
        for c in INVITATION_COLUMNS {
            q.expr_as(null(), Alias::new(format!("i_{c}")));
        }
        q.from_subquery(page, page_t);
        let mut invitations = Query::select();
        for c in &page_columns {
            invitations.expr_as(null(), Alias::new(c));
        }
        for c in INVITATION_COLUMNS {
            invitations.expr_as(
                Expr::col((invitation_t(), col(c))),
                Alias::new(format!("i_{c}")),
            );
        }
        invitations
            .from(invitation_t())
            .inner_join(
                org_t(),
                Expr::col((org_t(), col("id"))).equals((invitation_t(), col("organizationId"))),
            )
            .and_where(Expr::col((org_t(), col(column))).eq(value));
        q.union(UnionType::All, invitations);
        let rows = self.db.query_all(self.stmt(&q)).await?;
        let mut organization = None;
        let mut members = Vec::with_capacity(rows.len());
        let mut invitations = Vec::new();
        for row in &rows {
            if get_opt_str(row, "i_id")?.is_some() {
                invitations.push(invitation_from_named_row(row, |c| format!("i_{c}"))?);
                continue;
            }
            if organization.is_none() {
                organization = Some(org_from_named_row(row, |c| format!("o_{c}"))?);
            }
            // The organization's row alone when it has no member; a member whose user is gone
            // is left out, as the inner join of `members_page` does.
            if get_opt_str(row, "id")?.is_none() || get_opt_str(row, "u_id")?.is_none() {
                continue;
            }
            members.push((member_from_row(row)?, member_user_from_row(row)?));
        }
        let Some(organization) = organization else {
            return Ok(None);
        };
        if limit == 0 {
            members.clear();
        }
        members.sort_by(|(a, _), (b, _)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        invitations.sort_by_key(|i| i.created_at);
        Ok(Some(FullOrganization {
            organization,
            members,
            invitations,
        }))
    }

    /// A page of the organization's members with their users (no count).
    pub async fn members_page(
        &self,
        organization_id: &str,
        query: &MemberQuery,
    ) -> StoreResult<Vec<(Member, MemberUser)>> {
        let mut q = member_with_user_select();
        q.cond_where(member_cond(organization_id, query));
        match &query.sort {
            Some((field, desc)) => {
                let order = if *desc { Order::Desc } else { Order::Asc };
                q.order_by((member_t(), col(field)), order);
            }
            None => {
                q.order_by((member_t(), col("createdAt")), Order::Asc);
            }
        }
        q.order_by((member_t(), col("id")), Order::Asc);
        q.limit(query.limit).offset(query.offset);
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(|r| Ok((member_from_row(r)?, member_user_from_row(r)?)))
            .collect::<Result<Vec<_>, DbErr>>()?)
    }

    pub async fn count_members(&self, organization_id: &str) -> StoreResult<u64> {
        let q = Query::select()
            .expr_as(Func::count(Expr::col(col("id"))), Alias::new("n"))
            .from(member_t())
            .and_where(Expr::col(col("organizationId")).eq(organization_id))
            .to_owned();
        Ok(count_of(self.db.query_one(self.stmt(&q)).await?)?)
    }

    /// The roles of every member of the organization.
    pub async fn member_roles(&self, organization_id: &str) -> StoreResult<Vec<String>> {
        let q = Query::select()
            .column(col("role"))
            .from(member_t())
            .and_where(Expr::col(col("organizationId")).eq(organization_id))
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(|r| get_str(r, "role"))
            .collect::<Result<_, _>>()?)
    }

    /// Sets a member's role; the member afterwards, `None` when there is none.
    pub async fn update_member_role(&self, id: &str, role: &str) -> StoreResult<Option<Member>> {
        let q = Query::update()
            .table(member_t())
            .value(col("role"), role)
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(self.find_member_by_id(id).await?.map(|(m, _)| m))
    }

    pub async fn delete_member(&self, id: &str) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(member_t())
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    pub async fn insert_invitation(&self, i: &Invitation) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(invitation_t())
            .columns(INVITATION_COLUMNS.map(col))
            .values_panic([
                i.id.clone().into(),
                i.organization_id.clone().into(),
                i.email.clone().into(),
                i.role.clone().into(),
                i.status.clone().into(),
                self.ts(i.expires_at).into(),
                self.ts(i.created_at).into(),
                i.inviter_id.clone().into(),
            ])
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }

    pub async fn find_invitation(&self, id: &str) -> StoreResult<Option<Invitation>> {
        let q = invitation_select()
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(invitation_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// The organization's invitations, every status, oldest first.
    pub async fn list_invitations(&self, organization_id: &str) -> StoreResult<Vec<Invitation>> {
        self.invitations_where(
            Cond::all().add(Expr::col(col("organizationId")).eq(organization_id)),
        )
        .await
    }

    /// Pending invitations of the organization (to `email` when given), expired ones left out.
    pub async fn pending_invitations(
        &self,
        organization_id: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Invitation>> {
        let mut cond = Cond::all()
            .add(Expr::col(col("organizationId")).eq(organization_id))
            .add(Expr::col(col("status")).eq("pending"));
        if let Some(email) = email {
            cond = cond.add(Expr::col(col("email")).eq(email.to_lowercase()));
        }
        let all = self.invitations_where(cond).await?;
        Ok(all.into_iter().filter(|i| i.expires_at > now).collect())
    }

    /// Every invitation to `email`, each with its organization's name.
    pub async fn invitations_to(&self, email: &str) -> StoreResult<Vec<(Invitation, String)>> {
        let mut q = invitation_select();
        q.expr_as(Expr::col((org_t(), col("name"))), Alias::new("o_name"))
            .inner_join(
                org_t(),
                Expr::col((org_t(), col("id"))).equals((invitation_t(), col("organizationId"))),
            )
            .and_where(Expr::col((invitation_t(), col("email"))).eq(email.to_lowercase()))
            .order_by((invitation_t(), col("createdAt")), Order::Asc);
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(|r| Ok((invitation_from_row(r)?, get_str(r, "o_name")?)))
            .collect::<Result<_, DbErr>>()?)
    }

    async fn invitations_where(&self, cond: Cond) -> StoreResult<Vec<Invitation>> {
        let q = invitation_select()
            .cond_where(cond)
            .order_by(col("createdAt"), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(invitation_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Sets the invitation's status, only from `from` when given (one of two concurrent accepts
    /// wins); the invitation afterwards, `None` when nothing changed.
    pub async fn set_invitation_status(
        &self,
        id: &str,
        status: &str,
        from: Option<&str>,
    ) -> StoreResult<Option<Invitation>> {
        let mut q = Query::update();
        q.table(invitation_t())
            .value(col("status"), status)
            .and_where(Expr::col(col("id")).eq(id));
        if let Some(from) = from {
            q.and_where(Expr::col(col("status")).eq(from));
        }
        if exec(&self.db, self.stmt(&q)).await? == 0 {
            return Ok(None);
        }
        self.find_invitation(id).await
    }

    pub async fn set_invitation_expiry(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let q = Query::update()
            .table(invitation_t())
            .value(col("expiresAt"), self.ts(at))
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }

    /// Accepts a pending invitation and adds the member in one transaction: `None` when the
    /// invitation was no longer pending (another accept won), and nothing is written.
    pub async fn accept_invitation(
        &self,
        id: &str,
        member: &Member,
    ) -> StoreResult<Option<Invitation>> {
        let txn = self.db.begin().await?;
        let q = Query::update()
            .table(invitation_t())
            .value(col("status"), "accepted")
            .and_where(Expr::col(col("id")).eq(id))
            .and_where(Expr::col(col("status")).eq("pending"))
            .to_owned();
        if exec(&txn, self.stmt(&q)).await? == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        self.insert_member_on(&txn, member).await?;
        txn.commit().await?;
        match self.find_invitation(id).await? {
            Some(i) => Ok(Some(i)),
            None => Err(StoreError::Other(DbErr::RecordNotFound(
                "invitation vanished".into(),
            ))),
        }
    }
}
