use crate::{table_migration, Ddl};

table_migration!(Ddl {
    table: "jwks",
    sqlite: &[
        r#"create table "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text)"#,
    ],
    postgres: &[
        r#"create table "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" timestamptz not null, "expiresAt" timestamptz, "alg" text, "crv" text)"#,
    ],
    mysql: &[
        r#"create table `jwks` (`id` varchar(36) not null primary key, `publicKey` text not null, `privateKey` text not null, `createdAt` timestamp(3) not null, `expiresAt` timestamp(3) null, `alg` text, `crv` text)"#,
    ],
});
