#![doc = include_str!("../README.md")]

pub mod apigw;
pub mod aws;
pub mod function_process;
pub mod lambda;
pub mod runtime_api;
pub mod seed;
mod server;
pub mod sqs;
pub mod stack;

pub use fake_kit::moto::{Moto, MotoError};
pub use server::{DEFAULT_PORT, Devstack, DevstackBuilder, redact};
pub use stack::{DevSecrets, Fakes, Services, Stack, StackOptions, Wiring};
