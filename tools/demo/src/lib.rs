#![doc = include_str!("../README.md")]

pub mod cls;
pub mod cls_lifecycle;
pub mod cls_sweep;
pub mod flows;
pub mod report;
pub mod services;
pub mod stack;

pub use report::Row;
pub use stack::{DevSecrets, Stack, StackOptions};
