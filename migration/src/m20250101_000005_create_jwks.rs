//! The `jwks` table belongs to the JWT plugin since the plugin seam: the service creates it
//! while the plugin is on (`src/plugins/jwt/mod.rs`), as Better Auth adds it only with its
//! `jwt()` plugin. This migration stays, doing nothing, so that databases which ran it keep a
//! history the migrator recognises; their `jwks` table is kept as it is.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
