//! Better Auth's schema (docs/compatibility.md §14.2), one table per migration, with the DDL Better
//! Auth's own migration generator emits for each dialect. Every migration skips a table that
//! already exists, so a database created by Better Auth itself is adopted as it is.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

mod m20250101_000001_create_user;
mod m20250101_000002_create_session;
mod m20250101_000003_create_account;
mod m20250101_000004_create_verification;
mod m20250101_000005_create_jwks;
mod m20250101_000006_create_rate_limit;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_create_user::Migration),
            Box::new(m20250101_000002_create_session::Migration),
            Box::new(m20250101_000003_create_account::Migration),
            Box::new(m20250101_000004_create_verification::Migration),
            Box::new(m20250101_000005_create_jwks::Migration),
            Box::new(m20250101_000006_create_rate_limit::Migration),
        ]
    }
}

/// A migration that creates one table with the given per-dialect DDL.
#[macro_export]
macro_rules! table_migration {
    ($ddl:expr) => {
        use sea_orm_migration::prelude::*;

        #[derive(DeriveMigrationName)]
        pub struct Migration;

        const DDL: $crate::Ddl = $ddl;

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                DDL.up(manager).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                DDL.down(manager).await
            }
        }
    };
}

/// The statements of one table for each dialect, in the order they must run.
pub(crate) struct Ddl {
    pub table: &'static str,
    pub sqlite: &'static [&'static str],
    pub postgres: &'static [&'static str],
    pub mysql: &'static [&'static str],
}

impl Ddl {
    /// Creates the table unless it exists already (a Better Auth database being adopted).
    pub(crate) async fn up(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        if manager.has_table(self.table).await? {
            return Ok(());
        }
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => self.sqlite,
            DatabaseBackend::Postgres => self.postgres,
            DatabaseBackend::MySql => self.mysql,
        };
        for sql in statements {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    pub(crate) async fn down(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new(self.table))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_are_their_file_names() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(names[0], "m20250101_000001_create_user");
        assert_eq!(names[5], "m20250101_000006_create_rate_limit");
    }
}
