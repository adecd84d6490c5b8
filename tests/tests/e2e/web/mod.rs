//! The web UI served by `workway serve`, over real HTTP on 127.0.0.1:
//! its pages' security headers, forms and their CSRF checks, every
//! account's data kept to itself (`pages`, `connect`, both stores), and
//! the user's story in a real headless Chromium (`story`, `connect`).

mod admin;
mod billing;
mod browser;
mod connect;
mod listing;
mod pages;
mod quickstart;
mod runs;
mod screenshots;
mod story;
