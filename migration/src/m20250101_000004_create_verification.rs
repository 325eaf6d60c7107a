use crate::{table_migration, Ddl};

table_migration!(Ddl {
    table: "verification",
    sqlite: &[
        r#"create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" date not null, "createdAt" date not null, "updatedAt" date not null)"#,
        r#"create index "verification_identifier_idx" on "verification" ("identifier")"#,
    ],
    postgres: &[
        r#"create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" timestamptz not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null)"#,
        r#"create index "verification_identifier_idx" on "verification" ("identifier")"#,
    ],
    mysql: &[
        r#"create table `verification` (`id` varchar(36) not null primary key, `identifier` varchar(255) not null, `value` text not null, `expiresAt` timestamp(3) not null, `createdAt` timestamp(3) default CURRENT_TIMESTAMP(3) not null, `updatedAt` timestamp(3) default CURRENT_TIMESTAMP(3) not null)"#,
        r#"create index `verification_identifier_idx` on `verification` (`identifier`)"#,
    ],
});
