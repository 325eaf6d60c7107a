//! Who created the database's tables: Better Auth (the service adopted them) or the service's
//! own migrations. It decides `[storage] format = "auto"` (docs/migrating-from-node.md), and is
//! recorded at the first start, in a one-row table of the service's own, because after that
//! first start both kinds of database hold the service's migration table.

use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::schema::{columns, quote, table_exists};

/// The service's record of who created the tables. Better Auth ignores tables it does not
/// know, so a Node instance on the same database is not affected.
pub const ORIGIN_TABLE: &str = "better_auth_rs_origin";

/// Who created the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedBy {
    BetterAuth,
    Service,
}

impl CreatedBy {
    fn name(self) -> &'static str {
        match self {
            Self::BetterAuth => "better-auth",
            Self::Service => "better-auth-rs",
        }
    }
}

/// What `detect` found, and why.
#[derive(Debug, Clone)]
pub struct Origin {
    pub created_by: CreatedBy,
    pub reason: &'static str,
    /// Whether it is already in `ORIGIN_TABLE`.
    pub recorded: bool,
}

/// The columns every Better Auth schema since 1.3 has in the core tables: a table that exists
/// without one of them is not Better Auth's, and the service refuses it.
const REQUIRED: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "id",
            "name",
            "email",
            "emailVerified",
            "image",
            "createdAt",
            "updatedAt",
        ],
    ),
    (
        "session",
        &[
            "id",
            "expiresAt",
            "token",
            "createdAt",
            "updatedAt",
            "ipAddress",
            "userAgent",
            "userId",
        ],
    ),
    (
        "account",
        &[
            "id",
            "accountId",
            "providerId",
            "userId",
            "accessToken",
            "refreshToken",
            "idToken",
            "accessTokenExpiresAt",
            "refreshTokenExpiresAt",
            "scope",
            "password",
            "createdAt",
            "updatedAt",
        ],
    ),
    (
        "verification",
        &["id", "identifier", "value", "expiresAt", "createdAt"],
    ),
    ("jwks", &["id", "publicKey", "privateKey", "createdAt"]),
];

/// Refuses, before anything is written, a database whose core tables exist with a schema that
/// is neither Better Auth's nor the service's, naming the first table and column missing.
pub async fn check_foreign_schema<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    for (table, required) in REQUIRED {
        let have = columns(db, table).await?;
        if have.is_empty() {
            continue;
        }
        if let Some(missing) = required.iter().find(|c| !have.iter().any(|h| h == *c)) {
            return Err(DbErr::Custom(format!(
                "the existing table `{table}` has no column `{missing}`: this database's schema is \
                 neither Better Auth's (1.3 or later) nor this service's, and nothing was changed. \
                 Point DATABASE_URL at a Better Auth database, or at a new one"
            )));
        }
    }
    Ok(())
}

/// Who created the tables, looked at before the migrations run.
pub async fn detect<C: ConnectionTrait>(db: &C) -> Result<Origin, DbErr> {
    let backend = db.get_database_backend();
    if table_exists(db, ORIGIN_TABLE).await? {
        let sql = format!(
            "SELECT {} AS created_by FROM {}",
            quote(backend, "createdBy"),
            quote(backend, ORIGIN_TABLE)
        );
        let row = db.query_one(Statement::from_string(backend, sql)).await?;
        let created = row.and_then(|r| r.try_get::<String>("", "created_by").ok());
        if let Some(created) = created {
            let created_by = if created == CreatedBy::BetterAuth.name() {
                CreatedBy::BetterAuth
            } else {
                CreatedBy::Service
            };
            return Ok(Origin {
                created_by,
                reason: match created_by {
                    CreatedBy::BetterAuth => "Better Auth created its tables (recorded when the service first adopted them)",
                    CreatedBy::Service => "the service's migrations created its tables (recorded at its first start)",
                },
                recorded: true,
            });
        }
    }
    let origin = |created_by, reason| Origin {
        created_by,
        reason,
        recorded: false,
    };
    if !table_exists(db, "user").await? {
        return Ok(origin(
            CreatedBy::Service,
            "a new database: the service's migrations create its tables",
        ));
    }
    if !table_exists(db, "seaql_migrations").await? {
        return Ok(origin(
            CreatedBy::BetterAuth,
            "Better Auth created its tables (they were there before the service's first start)",
        ));
    }
    // Served by a version of the service that kept no record: Better Auth's scrypt hashes (no
    // `$` prefix, unlike argon2, bcrypt and PHC strings) tell that Node wrote to it.
    let sql = format!(
        "SELECT {id} AS id FROM {account} WHERE {password} IS NOT NULL AND {password} NOT LIKE '$%' LIMIT 1",
        id = quote(backend, "id"),
        account = quote(backend, "account"),
        password = quote(backend, "password"),
    );
    Ok(
        if db
            .query_one(Statement::from_string(backend, sql))
            .await?
            .is_some()
        {
            origin(
                CreatedBy::BetterAuth,
                "Better Auth created its tables (the account table holds Better Auth scrypt hashes)",
            )
        } else {
            origin(
                CreatedBy::Service,
                "the service's migrations created its tables (no Better Auth password hash found)",
            )
        },
    )
}

/// Writes `origin` to `ORIGIN_TABLE`, creating it (after the migrations, under their lock).
pub async fn record<C: ConnectionTrait>(db: &C, origin: &Origin) -> Result<(), DbErr> {
    if origin.recorded {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let table = quote(backend, ORIGIN_TABLE);
    let column = quote(backend, "createdBy");
    if !table_exists(db, ORIGIN_TABLE).await? {
        let ty = match backend {
            sea_orm::DatabaseBackend::MySql => "varchar(32)",
            _ => "text",
        };
        let sql = format!("create table {table} ({column} {ty} not null)");
        db.execute(Statement::from_string(backend, sql)).await?;
    }
    let sql = format!(
        "insert into {table} ({column}) values ('{}')",
        origin.created_by.name()
    );
    db.execute(Statement::from_string(backend, sql)).await?;
    Ok(())
}
