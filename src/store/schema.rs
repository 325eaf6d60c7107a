//! Schema facts that depend on configuration: custom user columns, the tables of enabled
//! plugins, and the optional `account.issuer` column of newer Better Auth versions.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use super::UserFields;
use crate::auth::fields::FieldType;

/// A table an optional feature needs, with the DDL Better Auth's migration generator writes for
/// each dialect. Created when missing; never altered or dropped.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub sqlite: &'static [&'static str],
    pub postgres: &'static [&'static str],
    pub mysql: &'static [&'static str],
}

/// Creates each of `tables` that the database lacks (an adopted Better Auth database may have
/// them already).
pub async fn create_missing_tables<C: ConnectionTrait>(
    db: &C,
    tables: &[Table],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for table in tables {
        if table_exists(db, table.name).await? {
            continue;
        }
        let statements = match backend {
            DatabaseBackend::Sqlite => table.sqlite,
            DatabaseBackend::Postgres => table.postgres,
            DatabaseBackend::MySql => table.mysql,
        };
        tracing::info!(table = table.name, "creating table");
        for sql in statements {
            db.execute(Statement::from_string(backend, *sql)).await?;
        }
    }
    Ok(())
}

pub(super) async fn table_exists<C: ConnectionTrait>(db: &C, table: &str) -> Result<bool, DbErr> {
    Ok(!columns(db, table).await?.is_empty())
}

/// Column names of `table` as the database reports them.
pub async fn columns<C: ConnectionTrait>(db: &C, table: &str) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let (sql, col) = match backend {
        DatabaseBackend::Sqlite => (format!("SELECT name FROM pragma_table_info('{table}')"), "name"),
        DatabaseBackend::Postgres => (
            format!("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"),
            "column_name",
        ),
        DatabaseBackend::MySql => (
            format!("SELECT column_name AS column_name FROM information_schema.columns WHERE table_schema = database() AND table_name = '{table}'"),
            "column_name",
        ),
    };
    let rows = db.query_all(Statement::from_string(backend, sql)).await?;
    rows.iter().map(|r| r.try_get::<String>("", col)).collect()
}

pub async fn has_column<C: ConnectionTrait>(
    db: &C,
    table: &str,
    column: &str,
) -> Result<bool, DbErr> {
    Ok(columns(db, table).await?.iter().any(|c| c == column))
}

/// The column type Better Auth's generator uses for a field type (schema.md §7).
fn sql_type(backend: DatabaseBackend, ty: FieldType) -> &'static str {
    use DatabaseBackend::*;
    use FieldType::*;
    match (backend, ty) {
        (Sqlite, String) => "text",
        (Sqlite, Number | Boolean) => "integer",
        (Sqlite, Date) => "date",
        (Sqlite, Json | StringArray | NumberArray) => "text",
        (Postgres, String) => "text",
        (Postgres, Number) => "integer",
        (Postgres, Boolean) => "boolean",
        (Postgres, Date) => "timestamptz",
        (Postgres, Json | StringArray | NumberArray) => "jsonb",
        (MySql, String) => "text",
        (MySql, Number) => "integer",
        (MySql, Boolean) => "boolean",
        (MySql, Date) => "timestamp(3) null",
        (MySql, Json | StringArray | NumberArray) => "json",
    }
}

pub(super) fn quote(backend: DatabaseBackend, ident: &str) -> String {
    match backend {
        DatabaseBackend::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

/// Adds the declared columns that `table` lacks. They are added nullable: existing rows have no
/// value, and the service enforces `required` itself.
pub async fn add_missing_columns<C: ConnectionTrait>(
    db: &C,
    table: &str,
    fields: &UserFields,
) -> Result<bool, DbErr> {
    if fields.is_empty() {
        return Ok(false);
    }
    let backend = db.get_database_backend();
    let existing = columns(db, table).await?;
    let mut added = false;
    for (name, def) in fields.iter() {
        if existing.iter().any(|c| c == name) {
            continue;
        }
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote(backend, table),
            quote(backend, name),
            sql_type(backend, def.field_type)
        );
        tracing::info!(table, column = %name, "adding column");
        db.execute(Statement::from_string(backend, sql)).await?;
        added = true;
    }
    Ok(added)
}

/// Columns of Better Auth 1.7.25's core and JWT tables that older Better Auth schemas lack.
/// Added nullable, as Better Auth's own migration adds them; rows keep their values.
const NEWER_COLUMNS: &[(&str, &str, FieldType)] = &[
    ("verification", "updatedAt", FieldType::Date),
    ("jwks", "expiresAt", FieldType::Date),
    ("jwks", "alg", FieldType::String),
    ("jwks", "crv", FieldType::String),
];

/// Adds to the existing core tables the columns of [`NEWER_COLUMNS`] they lack (a database an
/// older Better Auth created).
pub async fn add_missing_core_columns<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for (table, column, ty) in NEWER_COLUMNS {
        let existing = columns(db, table).await?;
        if existing.is_empty() || existing.iter().any(|c| c == column) {
            continue;
        }
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote(backend, table),
            quote(backend, column),
            sql_type(backend, *ty)
        );
        tracing::info!(
            table,
            column,
            "adding a column of the newer Better Auth schema"
        );
        db.execute(Statement::from_string(backend, sql)).await?;
    }
    Ok(())
}

/// A unique index on `table.column` unless one of that name exists (Better Auth's `unique`
/// columns). MySQL indexes a `text` column by a prefix, longer than any value these columns take.
pub async fn create_unique_index<C: ConnectionTrait>(
    db: &C,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let name = quote(backend, &format!("{table}_{column}_uidx"));
    let on = match backend {
        DatabaseBackend::MySql => format!("{}(255)", quote(backend, column)),
        _ => quote(backend, column),
    };
    let sql = format!(
        "CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {} ({on})",
        quote(backend, table)
    );
    db.execute(Statement::from_string(backend, sql)).await?;
    Ok(())
}
