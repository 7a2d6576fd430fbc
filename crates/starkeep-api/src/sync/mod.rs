//! The account sync endpoints: [`switch`] (`POST …/starrocks/users/sync`).

pub mod switch;
