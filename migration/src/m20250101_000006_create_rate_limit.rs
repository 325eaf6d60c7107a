use crate::{table_migration, Ddl};

table_migration!(Ddl {
    table: "rateLimit",
    sqlite: &[
        r#"create table "rateLimit" ("id" text not null primary key, "key" text not null unique, "count" integer not null, "lastRequest" bigint not null)"#,
    ],
    postgres: &[
        r#"create table "rateLimit" ("id" text not null primary key, "key" text not null unique, "count" integer not null, "lastRequest" bigint not null)"#,
    ],
    mysql: &[
        r#"create table `rateLimit` (`id` varchar(36) not null primary key, `key` varchar(255) not null unique, `count` integer not null, `lastRequest` bigint not null)"#,
    ],
});
