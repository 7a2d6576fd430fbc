//! The account sync endpoints: [`switch`] (`POST …/starrocks/users/sync`) and [`status`]
//! (`GET …/starrocks/users/sync`, an extension).

pub mod status;
pub mod switch;
