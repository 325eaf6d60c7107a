use crate::{table_migration, Ddl};

table_migration!(Ddl {
    table: "session",
    sqlite: &[
        r#"create table "session" ("id" text not null primary key, "expiresAt" date not null, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "session_userId_idx" on "session" ("userId")"#,
    ],
    postgres: &[
        r#"create table "session" ("id" text not null primary key, "expiresAt" timestamptz not null, "token" text not null unique, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade)"#,
        r#"create index "session_userId_idx" on "session" ("userId")"#,
    ],
    mysql: &[
        r#"create table `session` (`id` varchar(36) not null primary key, `expiresAt` timestamp(3) not null, `token` varchar(255) not null unique, `createdAt` timestamp(3) default CURRENT_TIMESTAMP(3) not null, `updatedAt` timestamp(3) not null, `ipAddress` text, `userAgent` text, `userId` varchar(36) not null references `user` (`id`) on delete cascade)"#,
        r#"create index `session_userId_idx` on `session` (`userId`)"#,
    ],
});
